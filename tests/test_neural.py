"""The skorch-based models: training, validation, callbacks, persistence."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_validate
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    LRScheduler,
    ProgressBar,
)

from sk_recsys.callbacks import RankingScoring
from sk_recsys.data import (
    InteractionDataset,
    NegativeSampler,
    SliceIterator,
    interaction_matrix,
)
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer, rmse
from sk_recsys.model_selection import UserHoldout, UserKFold, train_test_split
from sk_recsys.models import DeepMF, MatrixFactorization, NeuMF, Popularity

FAST = {"max_epochs": 8, "batch_size": 512, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    X, y = make_interactions(n_users=300, n_items=150, random_state=0, return_X_y=True)
    return train_test_split(X, y, test_size=0.2, random_state=0)


@pytest.fixture(scope="module")
def baseline(data):
    X_train, X_test, y_train, _ = data
    return get_scorer("ndcg@10")(Popularity().fit(X_train, y_train), X_test)


def test_mf_mse_predicts_ratings_better_than_the_mean(data):
    X_train, X_test, y_train, y_test = data
    model = MatrixFactorization(n_factors=16, lr=0.01, **FAST).fit(X_train, y_train)
    assert model.loss_ == "mse"
    assert rmse(y_test, model.predict(X_test)) < 0.9 * rmse(
        y_test, np.full(len(y_test), y_train.mean())
    )
    # unknown rows fall back to the mean rating
    assert model.predict([[10**9, 0]]) == pytest.approx([model.global_mean_])


@pytest.mark.parametrize(
    "model",
    [
        MatrixFactorization(n_factors=16, loss="bpr", lr=0.01, **FAST),
        MatrixFactorization(n_factors=16, loss="bce", lr=0.01, **FAST),
        NeuMF(n_factors=8, hidden=(16, 8), lr=0.005, **FAST),
        DeepMF(n_factors=16, hidden=(32,), lr=0.002, **FAST),
    ],
    ids=["mf-bpr", "mf-bce", "neumf", "dmf"],
)
def test_implicit_models_beat_popularity(model, data, baseline):
    X_train, X_test, _, _ = data
    model.fit(X_train)
    assert get_scorer("ndcg@10")(model, X_test) > 1.5 * baseline


def test_loss_auto_and_mse_without_ratings(data):
    X_train, _, _, _ = data
    assert MatrixFactorization(**{**FAST, "max_epochs": 1}).fit(X_train).loss_ == "bpr"
    with pytest.raises(ValueError, match="loss='mse' fits ratings, but y is None"):
        MatrixFactorization(loss="mse", max_epochs=1).fit(X_train)


def test_hyperparameters_are_validated_in_fit(data):
    X_train, _, y_train, _ = data
    for bad in ({"n_factors": 0}, {"loss": "hinge"}, {"lr": -1.0}, {"n_negatives": 0}):
        model = MatrixFactorization(**bad)  # __init__ only stores
        with pytest.raises(ValueError):
            model.fit(X_train, y_train)


def test_seeded_fits_are_identical_whatever_the_thread_count(data):
    X_train, _, _, _ = data
    threads = torch.get_num_threads()
    try:
        fits = []
        for n in (1, 2):
            torch.set_num_threads(n)
            fits.append(DeepMF(n_factors=8, hidden=(16,), **FAST).fit(X_train))
    finally:
        torch.set_num_threads(threads)
    users = np.asarray(fits[0].users_)[:20]
    np.testing.assert_array_equal(
        fits[0].score_items(users), fits[1].score_items(users)
    )
    assert not torch.are_deterministic_algorithms_enabled()


class _TorchSettings(Callback):
    """Records torch's determinism settings while the model trains."""

    def on_batch_end(self, net, **kwargs):
        net.settings_ = (
            torch.are_deterministic_algorithms_enabled(),
            torch.utils.deterministic.fill_uninitialized_memory,
        )


def test_seeded_fit_skips_the_uninitialised_memory_fills_and_restores(data):
    # Deterministic kernels, but not the NaN fill of every new buffer that
    # comes with them (hundreds of extra kernels a step on a GPU); both
    # settings are the caller's again after fit.
    X_train, _, _, _ = data
    model = MatrixFactorization(
        max_epochs=1, random_state=0, callbacks=[("settings", _TorchSettings())]
    ).fit(X_train)
    assert model.settings_ == (True, False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.utils.deterministic.fill_uninitialized_memory


def test_random_state_gives_identical_fits_and_leaves_torch_rng_alone(data):
    X_train, _, _, _ = data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = NeuMF(n_factors=8, hidden=(16, 8), dropout=0.2, **FAST).fit(X_train)
    assert torch.equal(torch.rand(3), expected), "fit must restore torch's RNG"
    b = NeuMF(n_factors=8, hidden=(16, 8), dropout=0.2, **FAST).fit(X_train)
    users = np.asarray(a.users_)[:20]
    np.testing.assert_array_equal(a.score_items(users), b.score_items(users))
    c = NeuMF(n_factors=8, hidden=(16, 8), dropout=0.2, **{**FAST, "random_state": 1})
    assert not np.allclose(c.fit(X_train).score_items(users), a.score_items(users))


def test_user_holdout_with_ranking_scoring_and_early_stopping(data):
    X_train, _, y_train, _ = data
    model = MatrixFactorization(
        n_factors=16,
        loss="bpr",
        lr=0.02,
        max_epochs=50,
        random_state=0,
        train_split=UserHoldout(0.2, random_state=0),
        callbacks=[
            RankingScoring("ndcg@10"),
            EarlyStopping(monitor="valid_ndcg@10", lower_is_better=False, patience=2),
        ],
    ).fit(X_train, y_train)
    history = model.history
    assert len(history) < 50, "early stopping on valid_ndcg@10 must stop"
    assert all(0 < v <= 1 for v in history[:, "valid_ndcg@10"])
    assert "valid_loss" in history[-1]
    assert any(history[:, "valid_ndcg@10_best"])
    # the held-out rows are not training interactions
    assert model.interactions_.nnz < len(X_train)


def test_checkpoint_and_lr_scheduler_use_the_ranking_metric(data, tmp_path):
    X_train, _, _, _ = data
    model = MatrixFactorization(
        n_factors=8,
        loss="bpr",
        lr=0.05,
        max_epochs=4,
        random_state=0,
        train_split=UserHoldout(0.2, random_state=0),
        callbacks=[
            RankingScoring("recall@20"),
            Checkpoint(monitor="valid_recall@20_best", dirname=str(tmp_path)),
            LRScheduler(
                torch.optim.lr_scheduler.ReduceLROnPlateau,
                monitor="valid_recall@20",
                mode="max",
                patience=0,
            ),
        ],
    ).fit(X_train)
    assert (tmp_path / "params.pt").exists()
    assert any(model.history[:, "event_cp"])


def test_ranking_scoring_needs_a_validation_split(data):
    X_train, _, _, _ = data
    with pytest.raises(ValueError, match="train_split is None"):
        MatrixFactorization(max_epochs=1, callbacks=[RankingScoring()]).fit(X_train)
    with pytest.raises(ValueError, match="not supported: use None or"):
        from skorch.dataset import ValidSplit

        MatrixFactorization(max_epochs=1, train_split=ValidSplit(5)).fit(X_train)


def test_progress_bar_and_verbose_work(data, capsys):
    X_train, _, _, _ = data
    MatrixFactorization(max_epochs=2, verbose=1, callbacks=[ProgressBar()]).fit(X_train)
    out = capsys.readouterr()
    assert "train_loss" in out.out


def test_pickle_save_params_and_load_params(data, tmp_path):
    X_train, _, y_train, _ = data
    model = MatrixFactorization(n_factors=8, **FAST).fit(X_train, y_train)
    users = np.asarray(model.users_)[:10]
    expected = model.score_items(users)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.score_items(users), expected)
    path = tmp_path / "mf.pt"
    model.save_params(f_params=str(path))
    fresh = clone(model).set_params(max_epochs=0).fit(X_train, y_train)
    fresh.load_params(f_params=str(path))
    np.testing.assert_allclose(fresh.score_items(users), expected)


def test_a_model_saved_for_the_gpu_loads_on_a_cpu_only_machine(data):
    """The state skorch moves between devices is the only device state."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    X_train, _, _, _ = data
    model = DeepMF(n_factors=8, hidden=(16,), **FAST).fit(X_train)
    users = np.asarray(model.users_)[:10]
    expected = model.score_items(users)
    model.device = "cuda"  # as if it had been trained on a GPU
    with pytest.warns(UserWarning, match="(?i)cuda"):
        restored = pickle.loads(pickle.dumps(model))
    assert torch.device(restored.device).type == "cpu"
    np.testing.assert_allclose(restored.score_items(users), expected)


def test_mf_fold_in_serves_new_users_from_their_history(data, baseline):
    X_train, X_test, y_train, _ = data
    users = np.unique(X_test.iloc[:, 0])[:60]
    known = X_train[~X_train.iloc[:, 0].isin(users)]
    for loss in ("bpr", "mse"):
        y_known = (
            y_train[known.index.map(X_train.index.get_loc)] if loss == "mse" else None
        )
        model = MatrixFactorization(n_factors=16, loss=loss, lr=0.02, **FAST)
        model.fit(known, y_known)
        assert not set(users) & set(model.users_)
        history = [list(X_train[X_train.iloc[:, 0] == u].iloc[:, 1]) for u in users]
        ids, scores = model.recommend(users, k=10, history=history)
        assert np.isfinite(scores).all()
        hits = [
            len(set(ids[n]) & set(X_test[X_test.iloc[:, 0] == u].iloc[:, 1]))
            for n, u in enumerate(users)
        ]
        popular, _ = Popularity().fit(known).recommend(users, k=10, history=history)
        popular_hits = [
            len(set(popular[n]) & set(X_test[X_test.iloc[:, 0] == u].iloc[:, 1]))
            for n, u in enumerate(users)
        ]
        if loss == "bpr":
            assert sum(hits) > 1.5 * sum(popular_hits)
        for n in range(len(users)):
            assert not set(ids[n]) & set(history[n])


def test_dmf_folds_in_a_user_from_their_row(data):
    X_train, _, _, _ = data
    model = DeepMF(n_factors=8, hidden=(16,), **FAST).fit(X_train)
    user = np.asarray(model.users_)[0]
    row = list(X_train[X_train.iloc[:, 0] == user].iloc[:, 1])
    folded = model._score_history(model.interactions_[[0]])
    np.testing.assert_allclose(
        folded.numpy(), model.score_items([user]), rtol=1e-4, atol=1e-6
    )
    ids, _ = model.recommend([10**9], k=5, history=[row])
    assert not set(ids[0]) & set(row)


def test_partial_fit_trains_known_ids_and_marks_rows_seen(data):
    X_train, X_test, _, _ = data
    model = MatrixFactorization(n_factors=8, loss="bpr", **FAST).fit(X_train)
    epochs = len(model.history)
    known = X_test[
        X_test.iloc[:, 0].isin(model.users_) & X_test.iloc[:, 1].isin(model.items_)
    ]
    model.partial_fit(known)
    assert len(model.history) == epochs + FAST["max_epochs"]
    user, item = known.iloc[0, 0], known.iloc[0, 1]
    ids, _ = model.recommend(
        [user],
        k=model.n_items_
        - 1
        - model.interactions_[list(model.users_).index(user)].nnz
        + 1,
    )
    assert item not in ids[0]
    with pytest.raises(ValueError, match="unseen in fit"):
        model.partial_fit([[10**9, known.iloc[0, 1]]])


def test_warm_start_continues_the_same_model(data):
    X_train, _, _, _ = data
    model = MatrixFactorization(n_factors=8, warm_start=True, **FAST).fit(X_train)
    model.fit(X_train)
    assert len(model.history) == 2 * FAST["max_epochs"]
    with pytest.raises(ValueError, match="warm_start continues training"):
        model.fit(X_train.iloc[: len(X_train) // 3])


def test_grid_search_over_model_skorch_and_optimizer_parameters(data):
    """The neural issue's grid, with n_jobs=2 (tiny data, few epochs)."""
    X, _, _, _ = data
    search = GridSearchCV(
        MatrixFactorization(loss="bpr", max_epochs=3, random_state=0),
        {
            "n_factors": [32, 64],
            "lr": [1e-3, 1e-2],
            "optimizer__weight_decay": [0, 1e-5],
        },
        scoring={"ndcg": get_scorer("ndcg@10"), "auc": get_scorer("auc")},
        refit="ndcg",
        cv=UserKFold(2, random_state=0),
        n_jobs=2,
    ).fit(X)
    assert len(search.cv_results_["params"]) == 8
    assert np.isfinite(search.cv_results_["mean_test_ndcg"]).all()
    assert search.best_estimator_.optimizer__weight_decay in (0, 1e-5)


@pytest.mark.parametrize("Model", [NeuMF, DeepMF])
def test_cross_validate_with_several_scorers(Model, data):
    X, _, _, _ = data
    scoring = {name: get_scorer(name) for name in ("precision@10", "recall@10", "auc")}
    result = cross_validate(
        Model(max_epochs=2, random_state=0),
        X,
        cv=UserKFold(2, random_state=0),
        scoring=scoring,
    )
    for name in scoring:
        assert np.isfinite(result[f"test_{name}"]).all()


def test_slice_iterator_covers_every_row_once_per_epoch():
    dataset = InteractionDataset(np.arange(10), np.arange(10) % 3, np.arange(10.0))
    torch.manual_seed(0)
    batches = list(SliceIterator(dataset, batch_size=4, shuffle=True))
    assert [len(users) for (users, _), _ in batches] == [4, 4, 2]
    seen = torch.cat([users for (users, _), _ in batches]).sort().values
    assert seen.tolist() == list(range(10))
    for (users, items), y in batches:  # rows stay aligned
        assert torch.equal(users.to(torch.float32), y)
        assert torch.equal(items, users % 3)
    assert len(SliceIterator(dataset, batch_size=4, drop_last=True)) == 2


def test_dataset_from_matrix_yields_the_matrix_entries_without_copying():
    rng = np.random.default_rng(0)
    pairs = rng.choice(6 * 9, size=25, replace=False)
    users, items = pairs // 9, pairs % 9
    ratings = rng.integers(1, 6, 25).astype(float)
    matrix = interaction_matrix(users, items, ratings, shape=(7, 9))  # user 6: none
    dataset = InteractionDataset.from_matrix(matrix)
    assert len(dataset) == 25
    assert dataset.items.data_ptr() == matrix.indices.ctypes.data
    expected = {(u, i): r for u, i, r in zip(users, items, ratings, strict=True)}
    torch.manual_seed(0)
    for batches in (
        SliceIterator(dataset, batch_size=4),
        SliceIterator(dataset, batch_size=4, shuffle=True),
    ):
        seen = [
            ((a, b), r)
            for (u, i), y in batches
            for a, b, r in zip(u.tolist(), i.tolist(), y.tolist(), strict=True)
        ]
        assert sorted(seen) == sorted(expected.items())  # each entry once
    implicit = InteractionDataset.from_matrix(matrix, values=False)
    assert implicit.y is None
    assert implicit.users.tolist() == sorted(users.tolist())


def test_fit_with_and_without_repeated_pairs():
    # Distinct pairs train from the shared CSR matrix, repeated ones from a
    # copy of the rows; both give a fitted, usable model.
    X = np.array([[0, 1], [0, 2], [1, 0], [2, 2], [1, 1], [2, 0]])
    for rows in (X, np.vstack([X, X[:2]])):
        model = MatrixFactorization(n_factors=4, **FAST).fit(rows)
        assert model.recommend([0], k=1)[0].shape == (1, 1)
        assert np.isfinite(model.history[-1, "train_loss"])


def test_negative_sampler_avoids_positives_and_follows_popularity():
    users = torch.tensor([0] * 5 + [1])
    items = torch.tensor([0, 1, 2, 3, 4, 5])
    torch.manual_seed(0)
    share = {}
    for rounds in (0, 8):
        sampler = NegativeSampler(users, items, n_items=8, max_rounds=rounds)
        negatives = sampler.sample(torch.tensor([0] * 2000), 5)
        share[rounds] = torch.isin(negatives, torch.arange(5)).float().mean().item()
    # user 0 liked 5 of 8 items: a draw is a positive with p = 5/8 per round
    assert share[0] == pytest.approx(5 / 8, abs=0.02)
    assert share[8] < 2 * (5 / 8) ** 9
    popular = NegativeSampler(
        torch.zeros(99, dtype=torch.long),
        torch.tensor([7] * 98 + [6]),
        8,
        distribution="popularity",
        max_rounds=0,
    )
    counts = torch.bincount(popular.sample(torch.tensor([1]), 20000)[0], minlength=8)
    assert counts[7] > 20 * counts[0]
    with pytest.raises(ValueError, match="not one of"):
        NegativeSampler(users, items, 8, distribution="zipf")


@pytest.mark.parametrize("distribution", ["uniform", "popularity"])
def test_cpu_negative_sampler_equals_whole_batch_rounds(distribution):
    # On the CPU later rounds check only the draws that hit; the negatives
    # (and the generator's state after) must be those of rounds that check
    # and redraw the whole batch, as on a GPU.
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 30, 300), rng.integers(0, 12, 300)
    matrix = interaction_matrix(users, items, shape=(30, 12))
    sampler = NegativeSampler.from_matrix(
        matrix, distribution=distribution, max_rounds=3
    )
    query = torch.as_tensor(rng.integers(0, 30, 500))
    torch.manual_seed(0)
    negatives = sampler.sample(query, 3)
    after = torch.rand(2)
    torch.manual_seed(0)
    expected = sampler._draw((500, 3), query.device)
    for _ in range(3):
        hit = sampler._is_positive(query, expected)
        expected = torch.where(hit, sampler._draw((500, 3), query.device), expected)
    assert torch.equal(negatives, expected)
    assert torch.equal(torch.rand(2), after)
    # the rounds did their work: about density ** 4 positives are left
    density = matrix.nnz / (30 * 12)
    assert sampler._is_positive(query, negatives).float().mean() < density**2


def test_negative_sampler_finds_exactly_the_training_pairs():
    # The binary search within each user's CSR row must agree with the dense
    # matrix for every (user, candidate), including users with empty rows,
    # users past the last row and an empty matrix.
    rng = np.random.default_rng(0)
    for _ in range(100):
        n_users, n_items = rng.integers(1, 12), rng.integers(1, 20)
        n = rng.integers(0, 40)
        users, items = rng.integers(0, n_users, n), rng.integers(0, n_items, n)
        matrix = interaction_matrix(users, items, shape=(n_users, n_items))
        dense = np.vstack([matrix.toarray() > 0, np.zeros((2, n_items), bool)])
        queried = rng.integers(0, n_users + 2, 30)
        candidates = rng.integers(0, n_items, (30, 4))
        expected = dense[queried[:, None], candidates]
        samplers = [NegativeSampler.from_matrix(matrix)]
        if n:
            samplers.append(
                NegativeSampler(torch.as_tensor(users), torch.as_tensor(items), n_items)
            )
        for sampler in samplers:
            hit = sampler._is_positive(
                torch.as_tensor(queried), torch.as_tensor(candidates)
            )
            np.testing.assert_array_equal(hit.numpy(), expected)


def test_negative_sampler_from_matrix_shares_the_cpu_indices():
    matrix = interaction_matrix(np.array([0, 1, 1]), np.array([2, 0, 1]), shape=(2, 3))
    sampler = NegativeSampler.from_matrix(matrix)
    assert sampler.indices.data_ptr() == matrix.indices.ctypes.data
    messy = sp.csr_matrix(
        (np.ones(3, np.float32), np.array([1, 0, 1]), np.array([0, 3])), shape=(1, 3)
    )  # unsorted, with a duplicate: copied and summed, the input untouched
    sampler = NegativeSampler.from_matrix(messy, max_rounds=50)
    assert messy.indices.tolist() == [1, 0, 1]
    torch.manual_seed(0)
    assert sampler.sample(torch.tensor([0]), 50).unique().tolist() == [2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("Model", [MatrixFactorization, NeuMF, DeepMF])
def test_gpu_training_scores_on_the_gpu_and_unpickles(Model, data):
    X_train, _, _, _ = data
    model = Model(device="cuda", **FAST).fit(X_train)
    users = np.asarray(model.users_)[:10]
    assert model._score_users(np.arange(10)).device.type == "cuda"
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.score_items(users), model.score_items(users))
