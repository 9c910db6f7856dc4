"""MatrixFactorization(solver="variational"): variational Bayes for ratings."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import rmse
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import MatrixFactorization
from sk_recsys.nn import VariationalMF
from sk_recsys.utils.estimator_checks import check_recommender

VB = {"loss": "mse", "solver": "variational", "random_state": 0}


@pytest.fixture(scope="module")
def data():
    X, y = make_interactions(n_users=300, n_items=150, random_state=0, return_X_y=True)
    return train_test_split(X, y, test_size=0.2, random_state=0)


def _small_posterior(seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random((6, 5)) < 0.6
    R = sp.csr_matrix(np.where(mask, rng.integers(1, 6, (6, 5)), 0).astype(float))
    g = torch.Generator().manual_seed(seed)
    init = [torch.randn(n, 3, generator=g, dtype=torch.float64) for n in (6, 5)]
    return R, VariationalMF(R, *init, global_mean=3.0, device="cpu")


def test_sweep_error_is_the_expected_squared_error_under_the_posterior():
    # The closed form (means, covariances and the user/bias cross terms) must
    # equal the expectation estimated by drawing the vectors from q.
    R, vb = _small_posterior()
    vb.sweep()
    error = vb.sweep()
    users, items = vb.users, vb.items
    coo = R.tocoo()
    g = torch.Generator().manual_seed(1)

    def draw(side, rows, n):
        chol = torch.linalg.cholesky(side.cov[rows] + 1e-12 * torch.eye(3))
        noise = torch.randn(len(rows), n, 3, generator=g, dtype=torch.float64)
        return side.mean[rows, None] + torch.einsum("rij,rnj->rni", chol, noise)

    x = draw(users, torch.as_tensor(coo.row), 200_000)
    y = draw(items, torch.as_tensor(coo.col), 200_000)
    score = 3.0 + x[..., 2] + y[..., 2] + (x[..., :2] * y[..., :2]).sum(-1)
    sampled = ((torch.as_tensor(coo.data)[:, None] - score) ** 2).mean(1).mean()
    assert error == pytest.approx(float(sampled), rel=0.01)
    assert vb.noise == pytest.approx(error)


def test_sweeps_fit_a_low_rank_matrix():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(60, 3)) @ rng.normal(size=(3, 40))
    mask = rng.random(truth.shape) < 0.5
    R = sp.csr_matrix(np.where(mask, truth, 0.0))
    init = [torch.randn(n, 4, dtype=torch.float64) * 0.1 for n in (60, 40)]
    vb = VariationalMF(R, *init, global_mean=0.0, device="cpu")
    for _ in range(40):
        vb.sweep()
    U, V = vb.users.mean, vb.items.mean
    predicted = (U[:, None, 3] + V[None, :, 3] + U[:, :3] @ V[:, :3].T).numpy()
    held_out = ~mask
    error = np.sqrt(np.mean((predicted[held_out] - truth[held_out]) ** 2))
    assert error < 0.2 * truth.std()


def test_variational_mf_predicts_ratings_better_than_the_gradient_solver(data):
    X_train, X_test, y_train, y_test = data
    model = MatrixFactorization(n_factors=8, max_epochs=15, **VB).fit(X_train, y_train)
    ours = rmse(y_test, model.predict(X_test))
    mean = rmse(y_test, np.full(len(y_test), y_train.mean()))
    gradient = MatrixFactorization(
        n_factors=8, loss="mse", max_epochs=15, random_state=0
    ).fit(X_train, y_train)
    assert ours < 0.9 * mean
    assert ours < rmse(y_test, gradient.predict(X_test))
    # one sweep per epoch, its expected squared error as the training loss
    losses = model.history[:, "train_loss"]
    assert len(losses) == 15 and losses[-1] < losses[0]
    assert model.noise_variance_ == pytest.approx(losses[-1])
    assert model.l2_ == 0.0
    mean_prior, cov_prior = model.user_prior_
    assert mean_prior.shape == (9,) and cov_prior.shape == (9, 9)
    np.testing.assert_allclose(cov_prior, cov_prior.T, atol=1e-8)
    # the posterior is training state only: not kept, not pickled
    assert "_variational_" not in vars(model)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(X_test), model.predict(X_test))


def test_variational_fold_in_matches_the_trained_users(data):
    # A user folded in from their own training ratings under the learned
    # prior gets nearly the vector training gave them.
    X_train, _, y_train, _ = data
    model = MatrixFactorization(n_factors=8, max_epochs=15, **VB).fit(X_train, y_train)
    users = np.asarray(model.users_)[:20]
    history = []
    for u in users:
        rows = np.flatnonzero(X_train.iloc[:, 0].to_numpy() == u)
        history.append(dict(zip(X_train.iloc[rows, 1], y_train[rows], strict=True)))
    k = model.n_items_
    ids, scores = model.recommend(users, k=k)
    new_ids, new_scores = model.recommend(
        -1 - np.arange(len(users)), k=k, history=history
    )
    for n in range(len(users)):
        ranked = ids[n] != -1
        trained = dict(zip(ids[n][ranked], scores[n][ranked], strict=True))
        folded = dict(zip(new_ids[n][ranked], new_scores[n][ranked], strict=True))
        assert trained.keys() == folded.keys()  # the same items excluded
        items = list(trained)
        a = [trained[i] for i in items]
        b = [folded[i] for i in items]
        assert np.corrcoef(a, b)[0, 1] > 0.95


def test_variational_solver_needs_ratings_and_dense_vectors(data):
    X_train, _, y_train, _ = data
    with pytest.raises(ValueError, match="solver='variational' fits ratings"):
        MatrixFactorization(solver="variational", max_epochs=1).fit(X_train)
    with pytest.raises(ValueError, match="sparse=False"):
        MatrixFactorization(solver="variational", sparse=True, max_epochs=1).fit(
            X_train, y_train
        )
    with pytest.raises(ValueError, match="solver"):
        MatrixFactorization(solver="als", max_epochs=1).fit(X_train, y_train)


def test_variational_mf_passes_check_recommender():
    check_recommender(
        MatrixFactorization(n_factors=4, solver="variational", max_epochs=3)
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_variational_mf_on_cuda_matches_cpu(data):
    X_train, X_test, y_train, _ = data
    cpu = MatrixFactorization(n_factors=8, max_epochs=5, **VB).fit(X_train, y_train)
    gpu = MatrixFactorization(n_factors=8, max_epochs=5, device="cuda", **VB)
    gpu.fit(X_train, y_train)
    np.testing.assert_allclose(gpu.predict(X_test), cpu.predict(X_test), atol=1e-3)
