"""BayesianMF: the Gibbs sampler's behaviour that users rely on."""

import numpy as np
import pytest
import torch

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer, rmse
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import BayesianMF, Popularity

QUICK = {"n_factors": 8, "n_samples": 20, "burn_in": 10}


@pytest.fixture(scope="module")
def split():
    X, y = make_interactions(300, 120, random_state=0, return_X_y=True)
    return train_test_split(X, y, random_state=0)


def test_predicts_ratings_better_than_the_global_mean(split):
    X_train, X_test, y_train, y_test = split
    model = BayesianMF(**QUICK, random_state=0).fit(X_train, y_train)
    baseline = rmse(y_test, np.full(len(y_test), y_train.mean()))
    assert rmse(y_test, np.clip(model.predict(X_test), 1, 5)) < 0.95 * baseline
    assert model.alpha_ > 0


def test_implicit_feedback_ranks_better_than_popularity(split):
    X_train, X_test, _, _ = split
    ndcg = get_scorer("ndcg@10")
    model = BayesianMF(**QUICK, random_state=0).fit(X_train)
    assert ndcg(model, X_test) > ndcg(Popularity().fit(X_train), X_test)


def test_same_seed_same_samples_other_seed_other_samples(split):
    X_train, _, y_train, _ = split
    first = BayesianMF(**QUICK, random_state=3).fit(X_train, y_train)
    second = BayesianMF(**QUICK, random_state=3).fit(X_train, y_train)
    other = BayesianMF(**QUICK, random_state=4).fit(X_train, y_train)
    np.testing.assert_array_equal(first.user_factors_, second.user_factors_)
    assert not np.array_equal(first.user_factors_, other.user_factors_)


def test_scores_average_the_kept_samples(split):
    """One matrix product over the stacked samples equals the mean of their dot
    products (plus the mean rating)."""
    X_train, _, y_train, _ = split
    model = BayesianMF(n_factors=3, n_samples=4, burn_in=2, random_state=0)
    model.fit(X_train, y_train)
    users = model.user_factors_.reshape(model.n_users_, 4, 3) * 2  # undo 1/sqrt(4)
    items = model.item_factors_.reshape(model.n_items_, 4, 3) * 2
    expected = np.einsum("usd,isd->ui", users, items) / 4 + y_train.mean()
    np.testing.assert_allclose(
        model.score_items(model.users_[:5]), expected[:5], rtol=1e-4
    )


def test_a_fixed_alpha_is_kept(split):
    X_train, _, y_train, _ = split
    model = BayesianMF(**QUICK, alpha=2.0, random_state=0).fit(X_train, y_train)
    assert model.alpha_ == 2.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_fit_unpickles_and_scores_like_cpu(split):
    import pickle

    X_train, X_test, y_train, _ = split
    model = BayesianMF(**QUICK, random_state=0, device="cuda").fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(
        restored.predict(X_test), model.predict(X_test), rtol=1e-5
    )


def test_ratings_of_any_scale_fit_alike():
    # The sampler works in units of the ratings' spread: ratings times c
    # predict times c (c a power of two, so that the standardised ratings
    # are the same bits and the chain the same draws). Ratings in the
    # hundreds of millions (found by the fuzz test) made its Wishart draws
    # singular before.
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 30, 400), rng.integers(0, 20, 400)])
    y = rng.integers(1, 6, 400).astype(float)
    c = 2.0**27
    small = BayesianMF(**QUICK, random_state=0).fit(X, y)
    large = BayesianMF(**QUICK, random_state=0).fit(X, y * c)
    np.testing.assert_allclose(large.predict(X), small.predict(X) * c, rtol=1e-5)
    assert large.alpha_ == pytest.approx(small.alpha_ / c**2, rel=1e-6)
    two = BayesianMF(random_state=0).fit(
        np.array([[3, 5], [3, 6]]), np.array([0.0, 569628992.0])
    )
    assert np.isfinite(two.predict(np.array([[3, 5], [3, 6]]))).all()
