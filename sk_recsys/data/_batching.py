"""Training data as tensors on the device: slicing batches, sampling negatives.

Measured on 500k ratings (see ``benchmarks/NOTES.md``), skorch's default
per-sample ``DataLoader`` made a matrix-factorisation epoch several times
slower than a plain torch loop; an iterator that slices prebuilt tensors
brings skorch to parity. Negatives are drawn for a whole batch at once on the
same device. Indices are stored as int32 and values as float32 (12 bytes per
interaction, and none when the rows are the entries of the CSR training
matrix, whose arrays are then shared); a batch is widened to int64 only when
it is sliced out. The negative sampler searches the same CSR arrays.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..utils import _device

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
        On ``device``, each contiguous. A dataset made by
        :meth:`from_matrix` stores no ``users``: it builds them on access,
        and :meth:`take` finds a batch's users in the matrix's ``indptr``.
    y : FloatTensor (float32) of shape (n_rows,) or None

    Examples
    --------
    >>> from sk_recsys.data import InteractionDataset
    >>> data = InteractionDataset([0, 1], [2, 3], [4.0, 5.0])
    >>> len(data), data.users.tolist(), data.items.tolist(), data.y.tolist()
    (2, [0, 1], [2, 3], [4.0, 5.0])
    """

    def __init__(self, users, items, y=None, *, device="cpu"):
        self._users = _index_tensor(users, device)
        self._indptr = None
        self.items = _index_tensor(items, device)
        self.y = (
            None
            if y is None
            else torch.as_tensor(np.asarray(y), dtype=torch.float32).to(device)
        )

    @classmethod
    def from_matrix(cls, matrix, *, values=True, device="cpu") -> InteractionDataset:
        """The entries of a CSR matrix as rows, in row-major order.

        On the CPU the dataset shares the matrix's ``indices`` (and ``data``)
        instead of copying them, and it stores no user per row, so it adds
        no memory per interaction: do not modify the matrix while it is in
        use.

        Parameters
        ----------
        matrix : scipy.sparse.csr_matrix
            Users by items, int32 indices (as
            :func:`~sk_recsys.data.interaction_matrix` builds it).
        values : bool, default=True
            Use the entries' values as ``y``; ``False`` for implicit feedback
            (``y`` is ``None``).
        device : str or torch.device, default="cpu"

        Examples
        --------
        >>> import numpy as np
        >>> from sk_recsys.data import InteractionDataset, interaction_matrix
        >>> R = interaction_matrix(np.array([1, 0]), np.array([0, 2]), shape=(2, 3))
        >>> data = InteractionDataset.from_matrix(R, values=False)
        >>> len(data), data.users.tolist(), data.items.tolist(), data.y
        (2, [0, 1], [2, 0], None)
        """
        dataset = cls.__new__(cls)
        dataset._users = None
        dataset._indptr = torch.from_numpy(matrix.indptr.astype(np.int64)).to(device)
        dataset.items = _index_tensor(matrix.indices, device)
        dataset.y = (
            torch.from_numpy(matrix.data.astype(np.float32, copy=False)).to(device)
            if values
            else None
        )
        return dataset

    @property
    def users(self) -> torch.Tensor:
        if self._users is not None:
            return self._users
        counts = self._indptr[1:] - self._indptr[:-1]
        rows = torch.arange(len(counts), dtype=torch.int32, device=self.items.device)
        return torch.repeat_interleave(rows, counts)

    def take(self, rows) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Users and items (int64) and ``y`` of some rows.

        Parameters
        ----------
        rows : slice or IntTensor
            Row positions, on the data's device.

        Returns
        -------
        users, items : LongTensor
        y : FloatTensor or None

        Examples
        --------
        >>> import torch
        >>> from sk_recsys.data import InteractionDataset
        >>> users, items, y = InteractionDataset([0, 1], [2, 3]).take(slice(1, 2))
        >>> users.tolist(), items.tolist(), y
        ([1], [3], None)
        """
        items = self.items[rows].long()
        if self._users is not None:
            users = self._users[rows].long()
        else:
            if isinstance(rows, slice):
                start, stop, _ = rows.indices(len(self))
                rows = torch.arange(start, stop, device=self.items.device)
            # Row r belongs to the user u with indptr[u] <= r < indptr[u + 1].
            users = torch.searchsorted(self._indptr, rows.long(), right=True) - 1
        return users, items, None if self.y is None else self.y[rows]

    def __len__(self) -> int:
        return len(self.items)


def _index_tensor(values, device) -> torch.Tensor:
    values = np.asarray(values)
    if len(values) and (values.min() < 0 or values.max() > np.iinfo(np.int32).max):
        raise ValueError(
            "interaction indices must lie in [0, 2**31 - 1]; encode the ids with "
            "sk_recsys.data.encode_ids first."
        )
    return torch.as_tensor(values.astype(np.int32, copy=False)).to(device)


def _same_device(a, b) -> bool:
    """Whether two devices are the same ("cuda" without an index: any GPU)."""
    a, b = torch.device(a), torch.device(b)
    return a.type == b.type and (a.index is None or b.index is None or a == b)


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


# Above this many rows, an epoch's order is a keyed permutation evaluated
# batch by batch instead of a stored one (4 bytes a row).
_STORED_ORDER_ROWS = 2**22
# On an accelerator the keyed order is evaluated this many positions at a
# time (then sliced into batches): its few dozen small kernels and the cycle
# walking's host syncs are paid once per chunk instead of once per batch.
_KEYED_CHUNK_ROWS = 2**20


class KeyedPermutation:
    """A pseudo-random permutation of ``range(n)``, computed position by position.

    A four-round Feistel network over the mixed-radix domain ``a x b``, with
    ``a = ceil(sqrt(n))`` and ``b = ceil(n / a)`` (the halves swap radices
    at each round and are combined by addition modulo their radix), and
    round keys drawn from torch's global generator. Fewer than ``a`` of the
    ``a * b`` values lie outside ``range(n)``, a fraction of about
    ``1 / sqrt(n)``; those are encrypted again until they fall inside
    (cycle walking), which keeps it a permutation of ``range(n)`` and
    rarely takes more than one or two extra passes over a handful of
    values (each pass is a host round trip on an accelerator).
    ``perm[positions]`` costs a few integer operations per position and no
    memory beyond its result: an epoch's shuffled order without an
    ``n``-sized array.

    Parameters
    ----------
    n : int
        Size of the permuted range.
    device : torch.device or str, default="cpu"

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.data import KeyedPermutation
    >>> _ = torch.manual_seed(0)
    >>> perm = KeyedPermutation(10)
    >>> sorted(perm[torch.arange(10)].tolist()) == list(range(10))
    True
    """

    _ROUNDS = 4
    _MIX = (0x9E3779B1, 0x45D9F3B)
    _M32 = 0xFFFFFFFF

    def __init__(self, n: int, device="cpu"):
        if n < 1:
            raise ValueError(f"KeyedPermutation needs n >= 1, got {n}.")
        self.n = n
        # Two radices about sqrt(n) whose product just covers n.
        first = math.isqrt(n - 1) + 1
        self.radices = (first, -(-n // first))
        self.device = torch.device(device)
        self.keys = torch.randint(0, 2**31 - 1, (self._ROUNDS,)).tolist()

    def _round(self, right: torch.Tensor, key: int, modulus: int) -> torch.Tensor:
        # Products stay below 2**63: right < 2**31 and both factors < 2**32.
        mixed = ((right ^ key) * self._MIX[0]) & self._M32
        mixed = mixed ^ (mixed >> 15)
        mixed = (mixed * self._MIX[1]) & self._M32
        return (mixed ^ (mixed >> 13)) % modulus

    def _encrypt(self, x: torch.Tensor) -> torch.Tensor:
        # (left, right) in Z_a x Z_b -> (right, (left + F(right)) mod a) in
        # Z_b x Z_a: invertible, and back to Z_a x Z_b after an even number
        # of rounds.
        a, b = self.radices
        left, right = x // b, x % b
        for key in self.keys:
            left, right = right, (left + self._round(right, key, a)) % a
            a, b = b, a
        return left * b + right

    def __getitem__(self, positions) -> torch.Tensor:
        """The permuted values (int64) of ``positions``: ints in ``range(n)``
        or a slice of it."""
        if isinstance(positions, slice):
            positions = torch.arange(*positions.indices(self.n), device=self.device)
        x = self._encrypt(torch.as_tensor(positions, device=self.device).long())
        pending = torch.nonzero(x >= self.n).squeeze(1)
        values = x[pending]
        while len(pending):
            values = self._encrypt(values)
            inside = values < self.n
            x[pending[inside]] = values[inside]
            pending, values = pending[~inside], values[~inside]
        return x

    def __len__(self) -> int:
        return self.n


def _read_ahead(order, batch_size: int) -> int:
    """Rows of an epoch order read at a time: one batch, or on an
    accelerator a chunk of batches of a keyed permutation, so that its small
    kernels (and its cycle walking's host round trips) come once a chunk."""
    if isinstance(order, KeyedPermutation) and _device.asynchronous(order.device):
        return batch_size * max(1, _KEYED_CHUNK_ROWS // batch_size)
    return batch_size


class SliceIterator:
    """Batches of an :class:`InteractionDataset` by slicing its tensors.

    A drop-in ``iterator_train`` / ``iterator_valid`` for skorch: it takes the
    dataset and keyword arguments, and yields ``((users, items), y)`` batches
    (indices as int64) with no per-sample Python work. Shuffling draws one
    permutation per epoch on the data's device from torch's global generator
    (seeded by ``random_state``): an int32 ``randperm`` up to 2**22 rows,
    above that a :class:`KeyedPermutation` evaluated batch by batch, so that
    no per-row order is held (4 bytes a row saved; with ``shard`` in a
    multi-process run the order is always stored).

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
        n = len(self.dataset)
        order = None
        # int32 row numbers, like the stored indices: half the memory of int64.
        index = {"device": self.dataset.items.device, "dtype": torch.int32}
        world = _world_size() if self.shard else 1
        if self.shuffle and world == 1 and n > _STORED_ORDER_ROWS:
            # Sliced like a stored order, computed a batch at a time.
            order = KeyedPermutation(n, index["device"])
        elif self.shuffle:
            order = torch.randperm(n, **index)
        if world > 1:
            if order is None:
                order = torch.arange(n, **index)
            order = _shard(order, world)
            n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        chunk = _read_ahead(order, self.batch_size)
        for start in range(0, stop, self.batch_size):
            if order is None:
                rows = slice(start, start + self.batch_size)
            else:
                # The order is read a chunk of batches at a time (one batch,
                # but on an accelerator evaluating a keyed permutation).
                offset = start % chunk
                if not offset:
                    block = order[start : min(start + chunk, stop)]
                rows = block[offset : offset + self.batch_size]
            users, items, y = self.dataset.take(rows)
            yield (users, items), y


class NegativeSampler:
    """Draw items a user did not interact with, for a whole batch at once.

    Candidates are drawn uniformly or in proportion to item popularity, on
    the device of the training data. Draws that hit one of the user's
    training items are redrawn (vectorised, ``max_rounds`` rounds: on a GPU
    every round checks the whole batch, which needs no host-device
    synchronisation; on the CPU rounds after the first check only the
    redrawn hits, with the same result); what is left is kept, a share of
    about ``density ** (max_rounds + 1)``.

    The user's items are looked up in the CSR layout of the training
    matrix (``indptr`` and sorted ``indices``) by a binary search within the
    user's row, vectorised over the batch. :meth:`from_matrix` takes those
    arrays from the model's ``interactions_`` without a copy on the CPU, so
    the sampler adds no memory per interaction there (4 bytes on a GPU).

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
        users, items = torch.as_tensor(users), torch.as_tensor(items)
        n_items = int(n_items)
        # int64 keys: n_users * n_items overflows int32 on large catalogs.
        keys = torch.unique(users.long() * n_items + items.long())
        n_users = int(users.max()) + 1 if len(users) else 0
        indptr = torch.zeros(n_users + 1, dtype=torch.long, device=users.device)
        torch.cumsum(
            torch.bincount(keys // n_items, minlength=n_users), 0, out=indptr[1:]
        )
        counts = torch.bincount(items.long(), minlength=n_items)
        self._setup(
            indptr, (keys % n_items).int(), n_items, counts, distribution, max_rounds
        )

    @classmethod
    def from_matrix(
        cls,
        matrix,
        *,
        device="cpu",
        distribution="uniform",
        max_rounds=3,
        indices=None,
    ) -> NegativeSampler:
        """A sampler over the entries of a canonical CSR training matrix.

        Parameters
        ----------
        matrix : scipy.sparse.csr_matrix
            Users by items. When it is canonical (sorted indices, no
            duplicates, as :func:`~sk_recsys.data.interaction_matrix` builds
            it) the sampler shares its ``indices`` on the CPU: do not modify
            them while it is in use.
        device : str or torch.device, default="cpu"
        distribution, max_rounds
            As in the constructor; popularity counts the users of each item.
        indices : IntTensor, default=None
            The canonical matrix's ``indices`` already on ``device`` (the
            ``items`` of :meth:`InteractionDataset.from_matrix` of the same
            matrix), shared instead of copied there: on a GPU this saves 4
            bytes per interaction. Ignored when the matrix is not canonical.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from sk_recsys.data import NegativeSampler, interaction_matrix
        >>> R = interaction_matrix(np.array([0, 0]), np.array([0, 1]), shape=(1, 3))
        >>> sampler = NegativeSampler.from_matrix(R, max_rounds=30)
        >>> _ = torch.manual_seed(0)
        >>> sampler.sample(torch.tensor([0]), 4).unique().tolist()
        [2]
        """
        sampler = cls.__new__(cls)
        if not matrix.has_canonical_format:
            matrix = matrix.copy()
            matrix.sum_duplicates()  # also sorts the indices
            indices = None
        if indices is None or not _same_device(indices.device, device):
            indices = torch.from_numpy(matrix.indices).to(device)
        elif len(indices) != matrix.nnz:
            raise ValueError(
                f"indices has {len(indices)} entries but the matrix {matrix.nnz}."
            )
        counts = torch.bincount(indices.long(), minlength=matrix.shape[1])
        sampler._setup(
            torch.from_numpy(matrix.indptr.astype(np.int64)).to(device),
            indices,
            matrix.shape[1],
            counts,
            distribution,
            max_rounds,
        )
        return sampler

    def _setup(self, indptr, indices, n_items, counts, distribution, max_rounds):
        self.n_items = int(n_items)
        self.max_rounds = max_rounds
        self.indptr, self.indices = indptr, indices
        longest = int((indptr[1:] - indptr[:-1]).max()) if len(indptr) > 1 else 0
        # A lower bound over at most `longest` entries converges in this many.
        self._steps = longest.bit_length()
        self.weights = None
        if distribution == "popularity":
            self.weights = counts.to(torch.float32) + 1.0
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
        if not len(self.indices):
            return torch.zeros_like(candidates, dtype=torch.bool)
        # Lower bound of each candidate within its user's sorted row
        # indices[start:end]. Invariant: entries before `lo` are smaller than
        # the candidate, entries from `hi` to `end` are not. Once lo == hi
        # the loop leaves it in place, or moves it past `end` (a miss).
        # A user past the last row has an empty one: [nnz, nnz).
        row = users.long().clamp(max=len(self.indptr) - 1)
        end = self.indptr[(row + 1).clamp(max=len(self.indptr) - 1)]
        end = end.unsqueeze(1).expand_as(candidates)
        lo = self.indptr[row].unsqueeze(1).expand_as(candidates)
        hi = end
        wanted = candidates.to(self.indices.dtype)
        last = len(self.indices) - 1
        for _ in range(self._steps):
            mid = (lo + hi) >> 1
            smaller = self.indices[mid.clamp(max=last)] < wanted
            lo = torch.where(smaller, mid + 1, lo)
            hi = torch.where(smaller, hi, mid)
        return (lo < end) & (self.indices[lo.clamp(max=last)] == wanted)

    def sample(self, users: torch.Tensor, n: int) -> torch.Tensor:
        """Return ``n`` negatives per user: a LongTensor of shape (len(users), n)."""
        size = (len(users), n)
        negatives = self._draw(size, users.device)
        if _device.asynchronous(users.device):
            # Whole redraws masked by the hits: no host-device synchronisation.
            for _ in range(self.max_rounds):
                hit = self._is_positive(users, negatives)
                negatives = torch.where(hit, self._draw(size, users.device), negatives)
            return negatives
        # On the CPU, rounds after the first check only the draws that hit
        # (about the density of the data): a draw that missed stays a miss.
        # Each round still draws a whole batch, so the result is the same
        # as the masked rounds above, a third of the work with three rounds.
        flat = negatives.view(-1)
        pending = None
        for _ in range(self.max_rounds):
            if pending is None:
                hit = self._is_positive(users, negatives).view(-1)
                pending = torch.nonzero(hit).squeeze(1)
            else:
                hit = self._is_positive(users[pending // n], flat[pending, None])
                pending = pending[hit.squeeze(1)]
            fresh = self._draw(size, users.device).view(-1)
            flat[pending] = fresh[pending]
        return negatives
