"""Training data as tensors on the device: slicing batches, sampling negatives.

Measured on 500k ratings (see ``benchmarks/README.md``), skorch's default
per-sample ``DataLoader`` made a matrix-factorisation epoch several times
slower than a plain torch loop; an iterator that slices prebuilt tensors
brings skorch to parity. Negatives are drawn for a whole batch at once on the
same device. Indices are stored as int32 and values as float32 (12 bytes per
interaction); a batch is widened to int64 only when it is sliced out.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["InteractionDataset", "NegativeSampler", "SliceIterator"]


class InteractionDataset:
    """Encoded interaction rows held as tensors on one device.

    Parameters
    ----------
    users, items : array-like of int
        User and item index of each row.
    y : array-like of float, default=None
        Rating or weight of each row; ``None`` for implicit feedback.
    device : str or torch.device, default="cpu"

    Attributes
    ----------
    users, items : IntTensor (int32) of shape (n_rows,)
        On ``device``, each contiguous.
    y : FloatTensor (float32) of shape (n_rows,) or None

    Examples
    --------
    >>> from sk_recsys.data import InteractionDataset
    >>> data = InteractionDataset([0, 1], [2, 3], [4.0, 5.0])
    >>> len(data), data.users.tolist(), data.items.tolist(), data.y.tolist()
    (2, [0, 1], [2, 3], [4.0, 5.0])
    """

    def __init__(self, users, items, y=None, *, device="cpu"):
        self.users = _index_tensor(users, device)
        self.items = _index_tensor(items, device)
        self.y = (
            None
            if y is None
            else torch.as_tensor(np.asarray(y), dtype=torch.float32).to(device)
        )

    def __len__(self) -> int:
        return len(self.users)


def _index_tensor(values, device) -> torch.Tensor:
    values = np.asarray(values)
    if len(values) and (values.min() < 0 or values.max() > np.iinfo(np.int32).max):
        raise ValueError(
            "interaction indices must lie in [0, 2**31 - 1]; encode the ids with "
            "sk_recsys.data.encode_ids first."
        )
    return torch.as_tensor(values.astype(np.int32, copy=False)).to(device)


def _world_size() -> int:
    """Processes of the running torch.distributed group (1 when there is none)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def _shard(rows: torch.Tensor, world: int) -> torch.Tensor:
    """This process's share of ``rows`` among ``world`` processes.

    Every process takes the same number of rows (the list is padded by
    wrapping around, as ``DistributedSampler`` does), so each takes the same
    number of steps: collective gradient averaging needs that.
    """
    dist = torch.distributed
    device = rows.device
    if dist.get_backend() == "nccl" and device.type != "cuda":
        rows = rows.to("cuda")
    # Every process must cut the same order: rank 0's wins.
    dist.broadcast(rows, src=0)
    per_rank = math.ceil(len(rows) / world)
    padding = per_rank * world - len(rows)
    if padding:
        rows = torch.cat([rows, rows[:padding]])
    return rows[dist.get_rank() :: world].to(device)


class SliceIterator:
    """Batches of an :class:`InteractionDataset` by slicing its tensors.

    A drop-in ``iterator_train`` / ``iterator_valid`` for skorch: it takes the
    dataset and keyword arguments, and yields ``((users, items), y)`` batches
    (indices as int64) with no per-sample Python work. Shuffling draws one
    permutation per epoch on the data's device from torch's global generator
    (seeded by ``random_state``).

    Parameters
    ----------
    dataset : InteractionDataset
    batch_size : int, default=1024
    shuffle : bool, default=False
        Visit the rows in a new random order at each epoch.
    drop_last : bool, default=False
        Skip a last, smaller batch.
    shard : bool, default=False
        When ``torch.distributed`` is initialised with several processes,
        visit only this process's share of the rows (``1 / world_size`` of
        them, the same number in each process); otherwise no effect. Data
        parallel training (:class:`~sk_recsys.models.DataParallelMixin`)
        shards its training iterator.

    Examples
    --------
    >>> from sk_recsys.data import InteractionDataset, SliceIterator
    >>> batches = SliceIterator(InteractionDataset(range(5), range(5)), batch_size=2)
    >>> len(batches), [len(users) for (users, items), y in batches]
    (3, [2, 2, 1])
    """

    def __init__(
        self, dataset, batch_size=1024, shuffle=False, drop_last=False, *, shard=False
    ):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.shard = shard

    def _n_rows(self) -> int:
        n = len(self.dataset)
        return math.ceil(n / _world_size()) if self.shard else n

    def __len__(self) -> int:
        n = self._n_rows()
        if self.drop_last:
            return n // self.batch_size
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        users, items, y = self.dataset.users, self.dataset.items, self.dataset.y
        n = len(users)
        order = None
        # int32 row numbers, like the stored indices: half the memory of int64.
        index = {"device": users.device, "dtype": torch.int32}
        if self.shuffle:
            order = torch.randperm(n, **index)
        world = _world_size() if self.shard else 1
        if world > 1:
            if order is None:
                order = torch.arange(n, **index)
            order = _shard(order, world)
            n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            if order is None:
                rows = slice(start, start + self.batch_size)
            else:
                rows = order[start : start + self.batch_size]
            yield (
                (users[rows].long(), items[rows].long()),
                None if y is None else y[rows],
            )


class NegativeSampler:
    """Draw items a user did not interact with, for a whole batch at once.

    Candidates are drawn uniformly or in proportion to item popularity, on
    the device of the training data. Draws that hit one of the user's
    training items are redrawn (vectorised, ``max_rounds`` rounds); what is
    left is kept, a share of about ``density ** (max_rounds + 1)``.

    Parameters
    ----------
    users, items : IntTensor or LongTensor
        Training interactions (index space), on the sampling device.
    n_items : int
        Catalog size.
    distribution : {"uniform", "popularity"}, default="uniform"
        ``"popularity"`` draws item ``i`` with probability proportional to its
        number of training interactions (plus one, so every item can be
        drawn).
    max_rounds : int, default=3
        Redraw rounds for draws that hit a positive.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.data import NegativeSampler
    >>> sampler = NegativeSampler(torch.tensor([0, 0]), torch.tensor([0, 1]), 3)
    >>> torch.manual_seed(0) is not None
    True
    >>> sampler.sample(torch.tensor([0, 0]), 4).unique().tolist()  # only item 2
    [2]
    """

    def __init__(self, users, items, n_items, *, distribution="uniform", max_rounds=3):
        self.n_items = int(n_items)
        self.max_rounds = max_rounds
        # int64 keys: n_users * n_items overflows int32 on large catalogs.
        self.positive_keys = torch.unique(users.long() * self.n_items + items.long())
        self.weights = None
        if distribution == "popularity":
            counts = torch.bincount(items, minlength=self.n_items).to(torch.float32)
            self.weights = counts + 1.0
        elif distribution != "uniform":
            raise ValueError(
                f"negative sampling distribution {distribution!r} is not one of "
                "'uniform', 'popularity'."
            )

    def _draw(self, size, device) -> torch.Tensor:
        if self.weights is None:
            return torch.randint(0, self.n_items, size, device=device)
        flat = torch.multinomial(self.weights, math.prod(size), replacement=True)
        return flat.view(size)

    def _is_positive(self, users, candidates) -> torch.Tensor:
        keys = users[:, None] * self.n_items + candidates
        position = torch.searchsorted(self.positive_keys, keys)
        position = position.clamp(max=len(self.positive_keys) - 1)
        return self.positive_keys[position] == keys

    def sample(self, users: torch.Tensor, n: int) -> torch.Tensor:
        """Return ``n`` negatives per user: a LongTensor of shape (len(users), n)."""
        size = (len(users), n)
        negatives = self._draw(size, users.device)
        # Whole redraws masked by the hits: no host-device synchronisation.
        for _ in range(self.max_rounds):
            hit = self._is_positive(users, negatives)
            negatives = torch.where(hit, self._draw(size, users.device), negatives)
        return negatives
