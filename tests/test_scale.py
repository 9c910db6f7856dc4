"""Memory-bounded ranking, streaming to Parquet, compact training data, sparse MF."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback

import sk_recsys
from sk_recsys import config_context, get_config, recommend_to_parquet, set_config
from sk_recsys.data import (
    InteractionDataset,
    KeyedPermutation,
    NegativeSampler,
    SliceIterator,
)
from sk_recsys.datasets import make_interactions
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import EASE, MatrixFactorization


@pytest.fixture(scope="module")
def data():
    X, y = make_interactions(200, 120, random_state=0, return_X_y=True)
    return train_test_split(X, y, random_state=0)


class _CountingEASE(EASE):
    """EASE that records how many users each scoring call gets."""

    def _score_users(self, users):
        self.calls_.append(len(users))
        return super()._score_users(users)


def test_config_round_trips_and_context_restores():
    assert get_config() == {"working_memory": None}
    with config_context(working_memory=32):
        assert get_config()["working_memory"] == 32
        with config_context(working_memory=1):
            assert get_config()["working_memory"] == 1
        assert get_config()["working_memory"] == 32
    assert get_config()["working_memory"] is None
    set_config(working_memory=128)
    try:
        assert sk_recsys.get_config()["working_memory"] == 128
    finally:
        set_config(working_memory=None)
    assert get_config()["working_memory"] is None


@pytest.mark.parametrize("bad", [0, -1, "big", True, float("nan")])
def test_bad_working_memory_is_refused(bad):
    with pytest.raises(ValueError, match="positive number of MiB"):
        set_config(working_memory=bad)
    with pytest.raises(ValueError, match="positive number of MiB"):
        with config_context(working_memory=bad):
            pass
    assert get_config()["working_memory"] is None


def test_working_memory_bounds_the_users_scored_at_once(data):
    X_train, *_ = data
    model = _CountingEASE().fit(X_train)
    users = model.users_
    model.calls_ = []
    ids, scores = model.recommend(users, k=5)
    assert model.calls_ == [len(users)]
    # Room for 3 users' temporaries (16 bytes per user-item cell).
    model.calls_ = []
    with config_context(working_memory=3 * 16 * model.n_items_ / 2**20):
        small_ids, small_scores = model.recommend(users, k=5)
        full = model.score_items(users[:7])
    assert max(model.calls_) == 3
    assert sum(model.calls_) == len(users) + 7
    np.testing.assert_array_equal(ids, small_ids)
    np.testing.assert_allclose(scores, small_scores, rtol=1e-5)
    np.testing.assert_allclose(full, model.score_items(users[:7]), rtol=1e-5)


def test_recommend_to_parquet_matches_recommend(tmp_path, data):
    X_train, *_ = data
    model = EASE().fit(X_train)
    path = tmp_path / "recs.parquet"
    n_rows = recommend_to_parquet(model, path, k=4, chunk_size=7)
    table = pd.read_parquet(path)
    assert n_rows == len(table) == 4 * model.n_users_
    assert table.columns.tolist() == ["user", "item", "rank", "score"]
    ids, scores = model.recommend(model.users_, k=4)
    np.testing.assert_array_equal(table["user"], np.repeat(model.users_, 4))
    np.testing.assert_array_equal(table["item"], ids.ravel())
    np.testing.assert_array_equal(table["rank"], np.tile(np.arange(1, 5), len(ids)))
    # float32 products over other chunk shapes may differ in the last bit
    np.testing.assert_allclose(table["score"], scores.ravel(), rtol=1e-5)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(path).num_row_groups == -(-model.n_users_ // 7)


def test_recommend_to_parquet_drops_padding_and_keeps_str_ids(tmp_path):
    X = [["ann", "tea"], ["bob", "tea"], ["bob", "jam"], ["cid", "pie"]]
    model = EASE().fit(X)
    path = tmp_path / "recs.parquet"
    n_rows = recommend_to_parquet(model, path, users=["bob", "zoe"], k=3)
    table = pd.read_parquet(path)
    # bob has seen two of the three items: one row; unknown zoe gets three.
    assert n_rows == 4
    assert table["user"].tolist() == ["bob", "zoe", "zoe", "zoe"]
    assert table.loc[0, "item"] == "pie"
    with pytest.raises(ValueError, match="chunk_size"):
        recommend_to_parquet(model, path, chunk_size=0)


def test_training_rows_are_stored_as_int32_and_float32():
    data = InteractionDataset([0, 1, 2], [3, 4, 5], [1.0, 2.0, 3.0])
    assert data.users.dtype == data.items.dtype == torch.int32
    assert data.y.dtype == torch.float32
    (users, items), y = next(iter(SliceIterator(data, batch_size=2, shuffle=True)))
    assert users.dtype == items.dtype == torch.int64
    assert y.dtype == torch.float32
    with pytest.raises(ValueError, match="encode the ids"):
        InteractionDataset([-1], [0])


@pytest.mark.parametrize("explicit", [False, True])
def test_sparse_mf_trains_with_sparse_adam(data, explicit):
    X_train, X_test, y_train, _ = data
    y = y_train if explicit else None
    params = {"n_factors": 16, "max_epochs": 8, "lr": 0.01, "random_state": 0}
    sparse = MatrixFactorization(sparse=True, **params).fit(X_train, y)
    dense = MatrixFactorization(**params).fit(X_train, y)
    assert isinstance(sparse.optimizer_, torch.optim.SparseAdam)
    assert isinstance(dense.optimizer_, torch.optim.Adam)
    assert sparse.module_.item_factors.weight.grad.is_sparse
    # Only the rows a step touched move, yet the model learns as well.
    assert abs(sparse.score(X_test) - dense.score(X_test)) < 0.05
    reloaded = pickle.loads(pickle.dumps(sparse))
    np.testing.assert_array_equal(
        reloaded.recommend([0, 1], k=5)[0], sparse.recommend([0, 1], k=5)[0]
    )


def test_sparse_mf_refuses_weight_decay_and_takes_other_sparse_optimizers(data):
    X_train, *_ = data
    model = MatrixFactorization(
        sparse=True, max_epochs=1, optimizer__weight_decay=1e-4, random_state=0
    )
    with pytest.raises(ValueError, match="set l2 instead"):
        model.fit(X_train)
    model = MatrixFactorization(
        sparse=True, max_epochs=1, optimizer=torch.optim.SGD, random_state=0
    ).fit(X_train)
    assert isinstance(model.optimizer_, torch.optim.SGD)


@pytest.mark.parametrize("sparse", [False, True])
def test_mf_penalty_from_the_forward_rows_matches_autograd(sparse):
    # The L2 term is computed from the rows the scores gathered: its value
    # and gradients (dense or sparse) must equal those of the penalty written
    # out on its own, with repeated rows counted once per occurrence.
    X = np.array([[0, 2], [1, 3], [1, 6], [4, 0], [2, 1], [3, 5], [0, 4]])
    model = MatrixFactorization(
        n_factors=3,
        loss="bpr",
        n_negatives=2,
        l2=0.5,
        sparse=sparse,
        max_epochs=1,
        random_state=0,
    ).fit(X)
    module = model.module_
    module.zero_grad()  # fit leaves its last step's gradients
    users = torch.tensor([0, 1, 1, 4])
    items = torch.tensor([2, 3, 6, 2])
    with model._training():
        scored = model._forward_batch((users, items))
    model.get_loss(scored, None, training=True).backward()
    grads = [
        t.weight.grad.to_dense() for t in (module.user_factors, module.item_factors)
    ]
    module.zero_grad()
    with model._training():  # the same negatives: the sampler is seeded
        scored_again = model._forward_batch((users, items))
    assert torch.equal(scored_again.negatives, scored.negatives)
    all_items = torch.cat([items, scored.negatives.reshape(-1)])
    user_rows = module.user_factors.weight[users]
    item_rows = module.item_factors.weight[all_items]
    reference = (user_rows**2).sum(-1).mean() + (item_rows**2).sum(-1).mean()
    assert torch.allclose(scored.penalty, reference)
    (model.criterion_(scored_again, None) + 0.5 * reference).backward()
    for grad, table in zip(
        grads, (module.user_factors, module.item_factors), strict=True
    ):
        assert torch.allclose(grad, table.weight.grad.to_dense(), atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 64, 1000, 4099])
def test_keyed_permutation_is_a_seeded_permutation(n):
    torch.manual_seed(0)
    first = KeyedPermutation(n)[torch.arange(n)]
    assert sorted(first.tolist()) == list(range(n))
    torch.manual_seed(0)
    assert torch.equal(KeyedPermutation(n)[torch.arange(n)], first)
    if n >= 64:  # a shuffle: not the identity, and another key another order
        assert not torch.equal(first, torch.arange(n))
        assert not torch.equal(KeyedPermutation(n)[torch.arange(n)], first)
        # positions in any slice land all over the range
        head = first[: n // 4].double()
        assert abs(head.mean().item() - (n - 1) / 2) < 0.15 * n


@pytest.mark.parametrize("n", [2**20 + 1, 3 * 10**6 + 7])
def test_keyed_permutation_rarely_walks(n, monkeypatch):
    # Each pass of cycle walking is a host round trip on an accelerator:
    # with a domain just covering n, a chunk of positions needs one or two.
    torch.manual_seed(0)
    perm = KeyedPermutation(n)
    a, b = perm.radices
    assert a * b >= n and a * b - n < a
    calls = []
    encrypt = perm._encrypt
    monkeypatch.setattr(perm, "_encrypt", lambda x: calls.append(len(x)) or encrypt(x))
    chunk = perm[slice(0, 2**20)]
    assert len(torch.unique(chunk)) == 2**20 and int(chunk.max()) < n
    assert len(calls) <= 3 and sum(calls[1:]) < 2**20 * 2 / a


def test_large_shuffled_epochs_hold_no_order_and_visit_each_row_once(monkeypatch):
    # Above the threshold the order is computed batch by batch: every row
    # still comes exactly once per epoch, aligned with its item and value,
    # in a new order each epoch.
    import sk_recsys.data._batching as batching

    monkeypatch.setattr(batching, "_STORED_ORDER_ROWS", 50)
    n = 203
    dataset = InteractionDataset(
        np.arange(n), np.arange(n) % 7, np.arange(n, dtype=float)
    )
    monkeypatch.setattr(
        torch, "randperm", lambda *a, **k: pytest.fail("stored an epoch order")
    )
    torch.manual_seed(0)
    iterator = SliceIterator(dataset, batch_size=32, shuffle=True)
    epochs = []
    for _ in range(2):
        batches = list(iterator)
        assert [len(u) for (u, _), _ in batches] == [32] * 6 + [11]
        users = torch.cat([u for (u, _), _ in batches])
        assert sorted(users.tolist()) == list(range(n))
        for (u, i), y in batches:
            assert torch.equal(i, u % 7) and torch.equal(u.to(torch.float32), y)
        epochs.append(users)
    assert not torch.equal(*epochs)
    dropped = list(SliceIterator(dataset, batch_size=32, shuffle=True, drop_last=True))
    assert [len(u) for (u, _), _ in dropped] == [32] * 6


@pytest.mark.parametrize("drop_last", [False, True])
def test_keyed_order_read_in_chunks_gives_the_same_batches(monkeypatch, drop_last):
    # On an accelerator the keyed order is read several batches at a time;
    # the batches must be those of reading it batch by batch, including a
    # last chunk cut short by the end of the epoch.
    import sk_recsys.data._batching as batching

    monkeypatch.setattr(batching, "_STORED_ORDER_ROWS", 50)
    n = 203
    dataset = InteractionDataset(np.arange(n), np.arange(n) % 7)

    def epoch():
        torch.manual_seed(0)
        iterator = SliceIterator(
            dataset, batch_size=32, shuffle=True, drop_last=drop_last
        )
        return [u for (u, _), _ in iterator]

    single = epoch()
    monkeypatch.setattr(batching, "_read_ahead", lambda order, size: 3 * size)
    chunked = epoch()
    assert len(chunked) == len(single) == (6 if drop_last else 7)
    for a, b in zip(chunked, single, strict=True):
        assert torch.equal(a, b)


def _accelerator_paths(monkeypatch):
    """Take, on the CPU, the code paths of an asynchronous device (a GPU)."""
    from sk_recsys.utils import _device

    monkeypatch.setattr(_device, "asynchronous", lambda device: True)


@pytest.mark.parametrize("loss", ["bpr", "mse"])
def test_accelerator_code_paths_train_the_same_model(monkeypatch, loss):
    # What a GPU fit does differently (the sampler's masked rounds, the
    # keyed order read a chunk of batches at a time, the batch losses read
    # back once per epoch) must train the model the CPU paths train; CI has
    # no GPU, so the paths run here on the CPU.
    import sk_recsys.data._batching as batching

    monkeypatch.setattr(batching, "_STORED_ORDER_ROWS", 50)
    monkeypatch.setattr(batching, "_KEYED_CHUNK_ROWS", 100)
    X, y = make_interactions(80, 60, random_state=0, return_X_y=True)
    y = y if loss == "mse" else None
    params = {"loss": loss, "max_epochs": 3, "batch_size": 32, "random_state": 0}
    cpu = MatrixFactorization(**params).fit(X, y)
    _accelerator_paths(monkeypatch)
    forced = MatrixFactorization(**params).fit(X, y)
    losses = forced.history[:, "batches", :, "train_loss"]
    assert all(type(v) is float for epoch in losses for v in epoch)
    assert losses == cpu.history[:, "batches", :, "train_loss"]
    assert forced.history[:, "train_loss"] == cpu.history[:, "train_loss"]
    for a, b in zip(forced.module_.parameters(), cpu.module_.parameters(), strict=True):
        assert torch.equal(a, b)


def test_accelerator_code_paths_catch_divergence_at_the_epoch_end(monkeypatch):
    from sk_recsys.callbacks import TrainingDivergedError

    _accelerator_paths(monkeypatch)
    X, y = make_interactions(50, 40, random_state=0, return_X_y=True)
    model = MatrixFactorization(lr=1e30, max_epochs=3, random_state=0)
    with pytest.raises(TrainingDivergedError, match="lr=1e"):
        model.fit(X, y)
    assert np.isfinite(model.predict(X)).all()


class _Shares(Callback):
    """Records whether the sampler reads the training dataset's item indices."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        net.shared_ = net._sampler_.indices.data_ptr() == X.train.items.data_ptr()


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(
                not torch.cuda.is_available(), reason="needs a CUDA GPU"
            ),
        ),
    ],
)
def test_sampler_shares_the_training_rows_item_indices(device, data):
    # One copy of the CSR indices serves the batches and the sampler: on a
    # GPU a second one would cost 4 bytes per interaction.
    X_train, *_ = data
    model = MatrixFactorization(
        max_epochs=1, device=device, callbacks=[("shares", _Shares())]
    ).fit(X_train)
    assert model.shared_
    R = model.interactions_
    dataset = InteractionDataset.from_matrix(R, values=False, device=device)
    sampler = NegativeSampler.from_matrix(R, device=device, indices=dataset.items)
    assert sampler.indices.data_ptr() == dataset.items.data_ptr()
    with pytest.raises(ValueError, match="entries but the matrix"):
        NegativeSampler.from_matrix(R, device=device, indices=dataset.items[:-1])
