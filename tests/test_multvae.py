"""MultVAE: the variational autoencoder's behaviour that users rely on."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import movielens_home, requires_movielens

from sk_recsys.callbacks import RankingScoring
from sk_recsys.datasets import load_movielens, make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import UserHoldout, train_test_split
from sk_recsys.models import MultVAE, Popularity
from sk_recsys.nn import MultVAELoss
from sk_recsys.utils.estimator_checks import check_recommender

QUICK = {"n_factors": 16, "hidden": (32,), "batch_size": 64, "random_state": 0}


@pytest.fixture(scope="module")
def split():
    X, y = make_interactions(300, 150, random_state=0, return_X_y=True)
    return train_test_split(X, y, test_size=0.2, random_state=0)


def test_passes_check_recommender():
    check_recommender(MultVAE(n_factors=8, hidden=(16,), max_epochs=2, batch_size=32))


def test_ranks_better_than_popularity(split):
    X_train, X_test, _, _ = split
    ndcg = get_scorer("ndcg@10")
    model = MultVAE(**QUICK, max_epochs=30).fit(X_train)
    assert ndcg(model, X_test) > 1.5 * ndcg(Popularity().fit(X_train), X_test)


@requires_movielens
def test_movielens_ua_well_above_popularity():
    X_train, X_test, _, _ = load_movielens(
        "100k", split="ua", data_home=movielens_home(), return_X_y=True
    )
    ndcg = get_scorer("ndcg@10")
    model = MultVAE(batch_size=100, max_epochs=10, random_state=0).fit(X_train)
    # Popularity scores 0.133; ten epochs reach 0.244.
    assert ndcg(model, X_test) > 0.22


def test_fold_in_equals_scoring_a_fitted_user_with_the_same_row(split):
    X_train, _, _, _ = split
    model = MultVAE(**QUICK, max_epochs=3).fit(X_train)
    user = model.users_[5]
    items = model.items_[model.interactions_[5].indices].tolist()
    ids, scores = model.recommend([user], k=20)
    new_ids, new_scores = model.recommend([10**9], k=20, history=[items[::-1]])
    np.testing.assert_array_equal(new_ids, ids)
    np.testing.assert_allclose(new_scores, scores, rtol=1e-5, atol=1e-6)
    # Without a history the unknown user gets the popularity ranking.
    popular, _ = model.recommend([10**9], k=5, exclude_seen=False)
    top = np.argsort(-model.item_popularity_, kind="stable")[:5]
    assert set(popular[0]) == set(model.items_[top])


def test_a_users_scores_do_not_depend_on_who_else_is_scored(split):
    X_train, _, _, _ = split
    params = {**QUICK, "hidden": (600,), "n_factors": 200, "batch_size": 512}
    model = MultVAE(**params, max_epochs=1).fit(X_train)
    together = model.score_items(model.users_[:300])
    for row in (0, 7, 299):
        np.testing.assert_array_equal(
            model.score_items([model.users_[row]])[0], together[row]
        )
    np.testing.assert_array_equal(
        model.predict(X_train.iloc[::7]), model.predict(X_train)[::7]
    )


def test_a_known_users_history_is_added_to_their_row(split):
    X_train, _, _, _ = split
    model = MultVAE(**QUICK, max_epochs=3).fit(X_train)
    row = model.interactions_[0].indices
    extra = np.setdiff1d(np.arange(model.n_items_), row)[:3]
    ids, scores = model.recommend(
        [model.users_[0]], k=10, history=[model.items_[extra].tolist()]
    )
    whole = model.items_[np.concatenate([row, extra])].tolist()
    new_ids, new_scores = model.recommend([10**9], k=10, history=[whole])
    np.testing.assert_array_equal(new_ids, ids)
    np.testing.assert_allclose(new_scores, scores, rtol=1e-5, atol=1e-6)
    _, without = model.recommend([model.users_[0]], k=10)
    assert not np.allclose(without, scores)


def test_seeded_fits_are_identical_and_seeds_differ(split):
    X_train, _, _, _ = split
    first = MultVAE(**QUICK, max_epochs=2).fit(X_train)
    second = MultVAE(**QUICK, max_epochs=2).fit(X_train)
    other = MultVAE(**{**QUICK, "random_state": 1}, max_epochs=2).fit(X_train)
    for (name, a), b, c in zip(
        first.module_.state_dict().items(),
        second.module_.state_dict().values(),
        other.module_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b), name
        assert not torch.equal(a, c), name


class _RecordingLoss(MultVAELoss):
    betas: list = []

    def forward(self, y_pred, y_true, beta=0.0):
        if self.training:
            self.betas.append(beta)
        return super().forward(y_pred, y_true, beta=beta)


def test_kl_weight_follows_the_annealing_schedule_across_fits(split):
    X_train, _, _, _ = split
    _RecordingLoss.betas = []
    model = MultVAE(
        **QUICK,
        max_epochs=2,
        anneal_cap=0.3,
        total_anneal_steps=10,
        criterion=_RecordingLoss,
        warm_start=True,
    )
    model.fit(X_train)
    model.fit(X_train)  # warm start continues the schedule
    steps = 2 * 2 * -(-model.n_users_ // 64)  # two fits of two epochs
    expected = [min(0.3, step / 10) for step in range(steps)]
    np.testing.assert_allclose(_RecordingLoss.betas, expected)
    _RecordingLoss.betas = []
    model.set_params(total_anneal_steps=0, warm_start=False).fit(X_train)
    assert _RecordingLoss.betas == [0.3] * (steps // 2)


def test_valid_loss_is_the_held_out_items_negative_log_probability(split):
    X_train, _, _, _ = split
    holdout = UserHoldout(0.2, random_state=0)
    model = MultVAE(
        **{**QUICK, "batch_size": 10_000},
        max_epochs=3,
        train_split=holdout,
        callbacks=[RankingScoring("ndcg@10")],
    ).fit(X_train)
    codes = pd.Index(model.users_).get_indexer(X_train.iloc[:, 0])
    held = X_train[holdout.mask(codes)]
    scores = torch.from_numpy(model.score_items(held.iloc[:, 0]))
    columns = pd.Index(model.items_).get_indexer(held.iloc[:, 1])
    log_p = torch.log_softmax(scores, dim=1)[np.arange(len(held)), columns]
    expected = -float(log_p.mean())
    assert model.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    assert 0 < model.history[-1, "valid_ndcg@10"] <= 1


def test_partial_fit_trains_the_users_with_new_rows(split):
    X_train, X_test, _, _ = split
    model = MultVAE(**QUICK, max_epochs=2).fit(X_train)
    known = X_test[
        X_test.iloc[:, 0].isin(model.users_) & X_test.iloc[:, 1].isin(model.items_)
    ]
    before = model.score_items(known.iloc[:20, 0])
    model.partial_fit(known.iloc[:20])
    assert not np.allclose(before, model.score_items(known.iloc[:20, 0]))
    user, item = known.iloc[0, 0], known.iloc[0, 1]
    ids, _ = model.recommend([user], k=model.n_items_ // 2)
    assert item not in set(ids[0].tolist())


@pytest.mark.parametrize(
    "params", [{"hidden": (0,)}, {"dropout": 1.0}, {"total_anneal_steps": -1}]
)
def test_bad_hyperparameters_raise_in_fit(split, params):
    X_train, _, _, _ = split
    model = MultVAE(**params)
    with pytest.raises(ValueError):
        model.fit(X_train)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_trains_and_folds_in_on_cuda(split):
    X_train, _, _, _ = split
    model = MultVAE(**QUICK, max_epochs=2, device="cuda").fit(X_train)
    assert next(model.module_.parameters()).device.type == "cuda"
    assert model._score_users(np.arange(3)).device.type == "cuda"
    items = model.items_[model.interactions_[0].indices].tolist()
    ids, scores = model.recommend([model.users_[0]], k=5)
    new_ids, new_scores = model.recommend([10**9], k=5, history=[items])
    np.testing.assert_array_equal(new_ids, ids)
    np.testing.assert_allclose(new_scores, scores, rtol=1e-5, atol=1e-5)
