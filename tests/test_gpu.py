"""The GPU paths the other test files do not reach: run where CUDA is visible.

CI has no GPU, so everything here is skipped there; ``benchmarks/gpu.sh``
runs this file on a GPU machine before its benchmarks.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from sk_recsys import recommend_to_parquet
from sk_recsys.data import (
    InteractionDataset,
    KeyedPermutation,
    NegativeSampler,
    SliceIterator,
    interaction_matrix,
)
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import (
    ContentRecommender,
    HybridRecommender,
    MatrixFactorization,
    MultiTaskRecommender,
    Popularity,
)
from sk_recsys.utils.estimator_checks import check_recommender

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"
)
FAST = {"max_epochs": 6, "batch_size": 512, "random_state": 0, "device": "cuda"}


@pytest.fixture(scope="module")
def synthetic():
    return make_interactions(n_users=300, n_items=150, random_state=0)


def test_keyed_permutation_on_cuda_is_the_cpu_permutation():
    n = 100_003
    torch.manual_seed(0)
    cpu = KeyedPermutation(n)[torch.arange(n)]
    torch.manual_seed(0)
    gpu = KeyedPermutation(n, device="cuda")[torch.arange(n, device="cuda")]
    assert gpu.device.type == "cuda"
    assert torch.equal(gpu.cpu(), cpu)


@pytest.mark.parametrize("chunk_rows", [200, 2**20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_large_shuffled_epochs_on_cuda_visit_each_row_once(
    monkeypatch, chunk_rows, drop_last
):
    # On a GPU the keyed order is evaluated a chunk of batches at a time:
    # the batches are still those of the permutation, in its order.
    import sk_recsys.data._batching as batching

    monkeypatch.setattr(batching, "_STORED_ORDER_ROWS", 50)
    monkeypatch.setattr(batching, "_KEYED_CHUNK_ROWS", chunk_rows)
    n = 1_003
    dataset = InteractionDataset(
        np.arange(n), np.arange(n) % 7, np.arange(n, dtype=float), device="cuda"
    )
    torch.manual_seed(0)
    iterator = SliceIterator(dataset, batch_size=64, shuffle=True, drop_last=drop_last)
    batches = list(iterator)
    assert [len(u) for (u, _), _ in batches] == [64] * 15 + ([] if drop_last else [43])
    users = torch.cat([u for (u, _), _ in batches])
    assert users.device.type == "cuda"
    torch.manual_seed(0)
    order = KeyedPermutation(n, device="cuda")[torch.arange(n, device="cuda")]
    assert torch.equal(users, order[: len(users)])
    for (u, i), y in batches:
        assert torch.equal(i, u % 7) and torch.equal(u.to(torch.float32), y)


def test_cuda_batch_losses_are_recorded_as_floats():
    # They are read back once per epoch; the history holds plain floats.
    X, _ = make_interactions(80, 60, random_state=0, return_X_y=True)
    model = MatrixFactorization(max_epochs=2, batch_size=256, device="cuda")
    model.set_params(random_state=0).fit(X)
    losses = model.history[:, "batches", :, "train_loss"]
    assert all(type(v) is float and np.isfinite(v) for e in losses for v in e)
    assert len(losses[0]) == model.history[0, "train_batch_count"] > 1
    assert np.isfinite(model.history[-1, "train_loss"])


def test_cuda_divergence_is_caught_at_the_end_of_the_epoch():
    from sk_recsys.callbacks import TrainingDivergedError

    X, y = make_interactions(50, 40, random_state=0, return_X_y=True)
    model = MatrixFactorization(lr=1e30, max_epochs=3, random_state=0, device="cuda")
    with pytest.raises(TrainingDivergedError, match="lr=1e"):
        model.fit(X, y)
    assert np.isfinite(model.predict(X)).all()


def test_negative_sampler_on_cuda_never_draws_a_positive():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 50, 2_000)
    items = rng.integers(0, 40, 2_000)
    matrix = interaction_matrix(users, items, shape=(50, 40))
    sampler = NegativeSampler.from_matrix(matrix, device="cuda", max_rounds=50)
    query = torch.arange(50, device="cuda").repeat_interleave(20)
    drawn = sampler.sample(query, 8)
    assert drawn.device.type == "cuda"
    dense = matrix.toarray() > 0
    assert not dense[query.cpu().numpy()[:, None], drawn.cpu().numpy()].any()


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("loss", ["bpr", "mse"])
def test_mf_on_cuda_learns_like_on_cpu(loss, sparse):
    X, y = make_interactions(200, 120, random_state=0, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    y_fit = y_train if loss == "mse" else None
    params = {"loss": loss, "sparse": sparse, "n_factors": 16, "lr": 0.01}
    params |= {"max_epochs": 8, "random_state": 0}
    gpu = MatrixFactorization(device="cuda", **params).fit(X_train, y_fit)
    cpu = MatrixFactorization(**params).fit(X_train, y_fit)
    assert gpu.module_.item_factors.weight.device.type == "cuda"
    if loss == "mse":
        # the same seed on another device: a different but equally good fit
        assert abs(gpu.score(X_test, y_test) - cpu.score(X_test, y_test)) < 0.05
    else:
        assert abs(gpu.score(X_test) - cpu.score(X_test)) < 0.05
    restored = pickle.loads(pickle.dumps(gpu))
    np.testing.assert_array_equal(
        restored.recommend([0, 1], k=5)[0], gpu.recommend([0, 1], k=5)[0]
    )


def test_mf_on_cuda_passes_check_recommender():
    check_recommender(MatrixFactorization(n_factors=4, max_epochs=3, device="cuda"))


@pytest.mark.parametrize(
    "Model",
    [ContentRecommender, HybridRecommender, MultiTaskRecommender],
    ids=["content", "hybrid", "multitask"],
)
def test_feature_models_train_and_rank_on_cuda(Model, synthetic):
    X_train, X_test, y_train, _ = train_test_split(
        synthetic.X, synthetic.y, random_state=0
    )
    model = Model(**{**FAST, "max_epochs": 15}).fit(
        X_train, y_train, item_features=synthetic.item_features
    )
    assert next(model.module_.parameters()).device.type == "cuda"
    baseline = get_scorer("ndcg@10")(Popularity().fit(X_train), X_test)
    assert get_scorer("ndcg@10")(model, X_test) > 1.5 * baseline
    restored = pickle.loads(pickle.dumps(model))
    users = np.unique(X_test["user_id"])[:10]
    np.testing.assert_allclose(
        restored.score_items(users), model.score_items(users), rtol=1e-5, atol=1e-6
    )


def test_recommend_to_parquet_from_a_cuda_model(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    X, _ = make_interactions(80, 60, random_state=0, return_X_y=True)
    model = MatrixFactorization(max_epochs=2, random_state=0, device="cuda").fit(X)
    path = tmp_path / "top.parquet"
    n_rows = recommend_to_parquet(model, path, k=5, chunk_size=16)
    table = pd.read_parquet(path)
    ids, scores = model.recommend(model.users_, k=5)
    assert n_rows == len(table) == ids.size
    np.testing.assert_array_equal(table["item"], ids.ravel())
    np.testing.assert_allclose(table["score"], scores.ravel(), rtol=1e-5)


@pytest.mark.parametrize("name", ["sasrec", "gru4rec", "hstu"])
def test_sequential_models_train_and_serve_sessions_on_cuda(name):
    from sk_recsys import get_model

    rng = np.random.default_rng(0)
    starts = rng.integers(20, size=80)
    X = pd.DataFrame(
        {
            "user": np.repeat(np.arange(80), 10),
            "item": ((starts[:, None] + np.arange(10)) % 20).ravel(),
            "time": np.tile(np.arange(10), 80),
        }
    )
    params = {"n_factors": 32, "max_len": 8, "max_epochs": 60, "lr": 0.01}
    model = get_model(name, **params, dropout=0.0, random_state=0, device="cuda")
    model.fit(X)
    assert next(model.module_.parameters()).device.type == "cuda"
    top, _ = model.recommend([-1], k=1, history=[[3, 4, 5]])
    assert top[0, 0] == 6
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(
        restored.score_items([0, 1]), model.score_items([0, 1]), rtol=1e-5
    )
