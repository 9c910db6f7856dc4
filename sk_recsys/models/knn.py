"""Neighbourhood collaborative filtering: item-based and user-based k-NN."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import RecommenderMixin
from . import _kernels

__all__ = ["ItemKNN", "UserKNN"]

# Similarities are computed for this many (query, neighbour) pairs at a time.
_BLOCK_CELLS = 1 << 23
# The right factor of a product is densified up to this many cells (1 GiB).
_DENSE_CELLS = 1 << 28
# Time per multiply-add of scipy's sparse product against torch's
# sparse-by-dense one on the 2-core Xeon: 5.3 ns against 0.19 ns (the ML-1M
# subset's item-item product, one thread).
_SPARSE_OP_COST = 25
# A dense right factor is multiplied by column slices of about this many
# cells (4 MiB of float32), which stay in the cache (see product_blocks).
_CHUNK_CELLS = 1 << 20


def product_blocks(left: sp.csr_matrix, right: sp.csr_matrix):
    """``block(rows)``: the rows ``rows`` of ``left @ right``, for :func:`top_k_rows`.

    Co-occurrence products are mostly empty on a long catalog (Last.fm-2K)
    and almost full on a short, dense one (the ML-1M subset): the block is
    a scipy sparse product when that costs fewer multiply-adds than 1/25 of
    a sparse-by-dense product (the measured speed ratio), else a dense
    float32 tensor from ``torch``'s CSR-by-dense product (2.5x faster than
    scipy's on the ML-1M subset), provided ``right`` densifies into at most
    ``2**28`` cells; that product runs over column slices of ``right`` of
    about ``2**20`` cells, which stay in the cache.
    """
    left = sp.csr_matrix(left, dtype=np.float32)
    right = sp.csr_matrix(right, dtype=np.float32)
    inner, n_cols = right.shape
    sparse_ops = np.dot(
        np.bincount(left.indices, minlength=inner).astype(np.float64),
        np.diff(right.indptr).astype(np.float64),
    )
    cheaper = _SPARSE_OP_COST * sparse_ops < left.nnz * n_cols
    if cheaper or inner * n_cols > _DENSE_CELLS:
        return lambda rows: left[rows] @ right
    dense = right.toarray()
    # The product streams a row of ``right`` per stored entry of ``left``:
    # taken whole, ``right`` outgrows the cache and the product waits on
    # memory (0.60 s a block of the ML-1M subset's item-item product, one
    # thread, two other processes on the cores); by slices of about 2**20
    # cells it takes 0.15 s.
    width = max(1, _CHUNK_CELLS // max(inner, 1))
    chunks = [
        torch.from_numpy(np.ascontiguousarray(dense[:, start : start + width]))
        for start in range(0, n_cols, width)
    ]

    def block(rows: slice) -> torch.Tensor:
        part = left[rows]
        with warnings.catch_warnings():
            # torch calls its CSR layout beta; the product used is stable
            warnings.simplefilter("ignore", UserWarning)
            csr = torch.sparse_csr_tensor(
                torch.from_numpy(part.indptr.astype(np.int64)),
                torch.from_numpy(part.indices.astype(np.int64)),
                torch.from_numpy(part.data),
                size=part.shape,
            )
            if len(chunks) == 1:
                return csr @ chunks[0]
            return torch.cat([csr @ chunk for chunk in chunks], dim=1)

    return block


def _row_norms(matrix: sp.csr_matrix) -> np.ndarray:
    return np.sqrt(np.asarray(matrix.multiply(matrix).sum(1)).ravel())


def cosine_neighbours(
    queries: sp.csr_matrix,
    vectors: sp.csr_matrix,
    n_neighbors: int,
    shrinkage: float,
    *,
    exclude=None,
) -> sp.csr_matrix:
    """Top ``n_neighbors`` shrunk-cosine neighbours of each query row.

    ``sim(a, b) = a.b / (|a| |b| + shrinkage)``; the shrinkage damps
    similarities supported by few common interactions. Only positive
    similarities are kept.

    Parameters
    ----------
    queries : csr_matrix of shape (n_queries, dim)
    vectors : csr_matrix of shape (n_vectors, dim)
    n_neighbors : int
    shrinkage : float
    exclude : ndarray of shape (n_queries,), default=None
        For each query, a vector index it may not pick (itself), or -1.

    Returns
    -------
    weights : csr_matrix of shape (n_queries, n_vectors)
        Row ``q`` holds the similarities of its neighbours.
    """
    n_queries, n_vectors = queries.shape[0], vectors.shape[0]
    vector_norms = _row_norms(vectors).astype(np.float32)
    query_norms = _row_norms(queries).astype(np.float32)
    shrink = np.float32(shrinkage + 1e-12)
    if _kernels.AVAILABLE:
        # the product, the division and the ranking in one compiled pass
        # (RP3Beta's; see sk_recsys.models._kernels)
        kept = _kernels.product_top_k(
            queries,
            sp.csr_matrix(vectors.T),
            n_neighbors,
            exclude=exclude,
            norms=(query_norms, vector_norms),
            shrinkage=shrink,
        )
        kept.sort_indices()
        return kept
    products = product_blocks(queries, sp.csr_matrix(vectors.T))

    def block(rows: slice):
        dots = products(rows)
        if isinstance(dots, torch.Tensor):
            norms = torch.outer(
                torch.from_numpy(query_norms[rows]), torch.from_numpy(vector_norms)
            )
            return dots / (norms + shrink)
        # Only the stored dot products are divided: a pair with no common
        # interaction has similarity 0 whatever its norms.
        dots = sp.csr_matrix(dots, dtype=np.float32)
        norms = np.repeat(query_norms[rows], np.diff(dots.indptr))
        norms *= vector_norms[dots.indices]
        dots.data /= norms + shrink
        return dots

    return top_k_rows(block, n_queries, n_vectors, n_neighbors, exclude=exclude)


def _top_k_sparse(matrix: sp.csr_matrix, k: int, own=None):
    """Rows, columns and values of each row's ``k`` largest positive entries.

    Ranked among the stored entries only (a row's empty cells are zeros,
    never kept); ties keep the lower column. ``own[i]`` is a column row
    ``i`` may not keep, or -1. The entries come back in row order.

    A row with at most ``k`` stored entries keeps its positive ones; a
    longer row keeps those above its k-th largest value (``np.partition``
    over such rows padded to a power-of-two width), and the entries equal
    to it, all of them when they fit, else the lower columns. Every entry
    is touched by a handful of vectorised passes and only the long rows are
    padded: ``RP3Beta``'s fit on Last.fm-2K took 0.099 s against 0.121 s
    for the version before (which sorted every tie, gathered per-row values
    by row index and compressed by boolean masks) and 0.15 s for one that
    ranked by fancy-indexed scatter (same weights, one thread, the 2-core
    Xeon).
    """
    n_rows = matrix.shape[0]
    counts = np.diff(matrix.indptr)
    row = np.repeat(np.arange(n_rows, dtype=matrix.indices.dtype), counts)
    col, values = matrix.indices, matrix.data
    if own is not None:
        # an excluded entry counts as empty, as a stored zero does (a
        # per-row value is spread by np.repeat, several times faster than
        # gathering it by row)
        mine = np.repeat(np.asarray(own, dtype=col.dtype), counts)
        values = np.where(col == mine, values.dtype.type(0), values)
    # an entry is kept when above its row's threshold: 0 for a short row
    threshold = np.zeros(n_rows, dtype=values.dtype)
    need = np.zeros(n_rows, dtype=np.int64)
    tied = []
    long = np.flatnonzero(counts > k)
    widths = 1 << np.ceil(np.log2(np.maximum(counts[long], 1))).astype(np.int64)
    for width in np.unique(widths):
        rows = long[widths == width]
        lengths = counts[rows]
        firsts = np.cumsum(lengths) - lengths
        offset = np.arange(int(lengths.sum()))
        pos = offset + np.repeat(matrix.indptr[rows] - firsts, lengths)
        vals = values[pos]
        padded = np.full(len(rows) * width, -np.inf, dtype=values.dtype)
        cells = offset + np.repeat(np.arange(len(rows)) * width - firsts, lengths)
        padded[cells] = vals
        padded = padded.reshape(len(rows), width)
        # each row's k-th largest value; only positive entries are kept
        kth = np.maximum(np.partition(padded, width - k, axis=1)[:, width - k], 0)
        above = np.count_nonzero(padded > kth[:, None], axis=1)
        # a row whose entries equal to its k-th value all fit keeps them
        # (the threshold just below that value); one with more ranks them
        equal = np.count_nonzero(padded == kth[:, None], axis=1)
        fits = (kth > 0) & (equal <= k - above)
        threshold[rows] = np.where(fits, np.nextafter(kth, -np.inf), kth)
        over = ~fits & (kth > 0)
        need[rows[over]] = k - above[over]
        at = np.repeat(np.where(over, kth, np.inf), lengths)
        tied.append(pos[vals == at])
    keep = values > np.repeat(threshold, counts)
    tied_pos = np.concatenate(tied) if tied else np.zeros(0, dtype=np.int64)
    if len(tied_pos):
        # the entries equal to such a row's k-th value fill it up by column
        tied_row = row[tied_pos]
        # (row, column) pairs are distinct: one argsort of a combined key
        # orders them, 2x faster than np.lexsort over the two
        order = np.argsort(tied_row.astype(np.int64) * matrix.shape[1] + col[tied_pos])
        tied_pos, tied_row = tied_pos[order], tied_row[order]
        rank = np.arange(len(tied_row)) - np.searchsorted(tied_row, tied_row)
        keep[tied_pos[rank < need[tied_row]]] = True
    # taking by index is 2.5x faster than three boolean masks
    kept = np.flatnonzero(keep)
    return row.take(kept), col.take(kept), values.take(kept)


def _top_k_dense(values: np.ndarray, k: int, own=None):
    """:func:`_top_k_sparse` for a dense block on the CPU (modified in place).

    Each row keeps the cells above its k-th largest value, then those equal
    to it by column. ``np.partition`` finds that value 5 to 7 times faster
    than ``torch.topk`` on one thread (1680 to 15381 columns, k of 100 and
    200), which took most of an ``RP3Beta`` fit on MovieLens-100K.
    """
    if own is not None:
        mine = np.flatnonzero(own >= 0)
        values[mine, own[mine]] = 0.0
    n_cols = values.shape[1]
    kth = np.partition(values, n_cols - k, axis=1)[:, n_cols - k]
    keep = values >= kth[:, None]
    # only positive cells are kept: a row with fewer than k of them keeps
    # those; a row with ties at its k-th value fills up by column
    few = np.flatnonzero(kth <= 0)
    keep[few] = values[few] > 0
    tied = np.flatnonzero(np.count_nonzero(keep, axis=1) > k)
    if len(tied):
        part, at = values[tied], kth[tied, None]
        equal = part == at
        need = k - np.count_nonzero(part > at, axis=1)
        keep[tied] = (part > at) | (equal & (np.cumsum(equal, axis=1) <= need[:, None]))
    row, col = np.nonzero(keep)
    return row, col, values[row, col]


def _top_k_tensor(values: torch.Tensor, k: int, own=None):
    """:func:`_top_k_dense` for a block on an accelerator, by ``torch.topk``.

    Ties at the k-th value are broken as ``torch.topk`` breaks them.
    """
    if own is not None:
        mine = np.flatnonzero(own >= 0)
        values[torch.from_numpy(mine), torch.from_numpy(own[mine])] = 0.0
    values, index = torch.topk(values, k, dim=1)
    values, index = values.cpu(), index.cpu()
    keep = values > 0
    return (
        torch.nonzero(keep)[:, 0].numpy(),
        index[keep].numpy(),
        values[keep].numpy(),
    )


def _csr(rows, cols, vals, shape) -> sp.csr_matrix:
    """A CSR matrix from entries that come in row order."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((vals, cols, indptr), shape=shape, dtype=np.float32)


def top_k_sparse_rows(matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row of a sparse matrix.

    For a matrix already held whole (unlike :func:`top_k_rows`, which
    builds its input by blocks); ties keep the lower column.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_recsys.models.knn import top_k_sparse_rows
    >>> X = sp.csr_matrix([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    >>> top_k_sparse_rows(X, 2).toarray()
    array([[3., 0., 2.],
           [0., 0., 5.]], dtype=float32)
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    if k <= 0:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return _csr(*_top_k_sparse(matrix, k), matrix.shape)


def top_k_sparse_columns(matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each column of a sparse matrix.

    Through the compiled kernel when numba is installed
    (:func:`sk_recsys.models._kernels.top_k_columns`, no transpose),
    otherwise :func:`top_k_sparse_rows` of the transpose; both keep the
    lower rows on ties and return sorted indices.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_recsys.models.knn import top_k_sparse_columns
    >>> X = sp.csr_matrix([[3.0, 0.0], [1.0, 5.0], [2.0, -1.0]])
    >>> top_k_sparse_columns(X, 2).toarray()
    array([[3., 0.],
           [0., 5.],
           [2., 0.]], dtype=float32)
    """
    if _kernels.AVAILABLE:
        kept = _kernels.top_k_columns(matrix, k)
        kept.sort_indices()
        return kept
    return top_k_sparse_rows(sp.csr_matrix(matrix).T, k).T.tocsr()


def top_k_rows(
    block, n_rows: int, n_cols: int, k: int, *, exclude=None
) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row of a matrix made by blocks.

    ``block(rows)`` returns the rows in the slice ``rows``: a dense tensor
    (on any device), or a scipy sparse matrix, whose entries are ranked
    where they are stored when under a quarter of the block's cells are
    (a co-occurrence product over a long catalog is mostly empty), and
    densified otherwise. The matrix is never held whole, only blocks of
    about ``2**23`` cells. Ties at a row's k-th value keep the lower
    columns, except for a block on an accelerator (``torch.topk`` there).

    Parameters
    ----------
    block : callable
    n_rows, n_cols : int
    k : int
    exclude : ndarray of shape (n_rows,), default=None
        For each row, a column it may not keep (itself), or -1.

    Returns
    -------
    kept : csr_matrix of shape (n_rows, n_cols), float32
    """
    k = min(k, n_cols)
    if k == 0 or n_rows == 0:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    step = max(1, _BLOCK_CELLS // n_cols)
    rows, cols, vals = [], [], []
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        values = block(slice(start, stop))
        own = None if exclude is None else exclude[start:stop]
        if sp.issparse(values) and values.nnz < values.shape[0] * values.shape[1] // 4:
            kept = _top_k_sparse(values.tocsr().astype(np.float32, copy=False), k, own)
        else:
            if sp.issparse(values):
                values = values.toarray()
            elif values.device.type == "cpu":
                values = values.numpy()
            if isinstance(values, np.ndarray):
                kept = _top_k_dense(values.astype(np.float32, copy=False), k, own)
            else:
                kept = _top_k_tensor(values.to(torch.float32), k, own)
        rows.append(kept[0] + start)
        cols.append(kept[1])
        vals.append(kept[2])
    # every block hands its entries back in row order
    return _csr(
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        (n_rows, n_cols),
    )


def _centred(matrix: sp.csr_matrix, means: np.ndarray, axis: int) -> sp.csr_matrix:
    """``matrix`` minus the row (axis=1) or column (axis=0) mean at its entries."""
    centred = matrix.copy().tocoo()
    centred.data = centred.data - means[centred.row if axis == 1 else centred.col]
    return centred.tocsr()


def _means(matrix: sp.csr_matrix, axis: int) -> np.ndarray:
    totals = np.asarray(matrix.sum(axis)).ravel()
    counts = (
        np.diff(matrix.indptr)
        if axis == 1
        else np.bincount(matrix.indices, minlength=matrix.shape[1])
    )
    return (totals / np.maximum(counts, 1)).astype(np.float32)


class _NeighbourhoodModel(RecommenderMixin, BaseEstimator):
    _family = "neighbourhood"

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "shrinkage": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Compute the neighbourhoods from the training interactions.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Ratings or weights; with ``y`` the model predicts on its scale
            (mean-centred weighted average of the neighbours' values).
        item_features, user_features : DataFrame, default=None
            Side information indexed by raw id; only extends the catalog.

        Returns
        -------
        self
        """
        self._validate_params()
        data = self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        self.explicit_ = data.y is not None
        ratings = data.y if data.y is not None else np.ones(1)
        self.rating_range_ = (float(ratings.min()), float(ratings.max()))
        self._fit_neighbours()
        return self

    def _predicts_ratings(self) -> bool:
        return self.explicit_

    def _predict_pairs(self, users, items):
        if not self.explicit_:
            return super()._predict_pairs(users, items)
        return np.clip(
            self._gather_pairs(users, items, self._rating_rows), *self.rating_range_
        )

    def _dense(self, scores: sp.spmatrix) -> torch.Tensor:
        return torch.from_numpy(np.asarray(scores.toarray(), dtype=np.float32))

    def _centred_average(self, means, numerator, denominator) -> torch.Tensor:
        """``means + numerator / denominator``, ``means`` where nothing contributes.

        ``numerator`` sums the neighbours' similarity-weighted centred ratings,
        ``denominator`` the similarities of the neighbours that rated.
        """
        numerator, denominator = self._dense(numerator), self._dense(denominator)
        return means + torch.where(
            denominator > 0, numerator / denominator.clamp(min=1e-12), 0.0
        )


class ItemKNN(_NeighbourhoodModel):
    """Item-based k-nearest-neighbour collaborative filtering.

    Two items are similar when the same users interacted with them: the
    shrunk cosine ``sim(i, j) = r_i . r_j / (|r_i| |r_j| + shrinkage)`` over
    their columns of the user-item matrix (weighted by ``y`` when given).
    Each item keeps its ``n_neighbors`` most similar items, and a user's
    score for item ``i`` is ``sum_j sim(i, j) r_uj`` over the items ``j`` the
    user interacted with. New users are folded in from ``history=`` in
    :meth:`recommend` without refitting.

    Fitted with ratings ``y``, :meth:`predict` estimates a rating:
    ``mean_i + sum_j sim(i, j) (r_uj - mean_j) / sum_j sim(i, j)`` over the
    neighbours of ``i`` the user rated (``mean_i`` when none), clipped to the
    range of ``y``. Ranking keeps the evidence-weighted sum, which does not
    favour items backed by a single neighbour.

    Parameters
    ----------
    n_neighbors : int, default=200
        Neighbours kept per item.
    shrinkage : float, default=10.0
        Added to the cosine denominator; larger values trust pairs with few
        common users less.
    weighting : {"none", "tfidf", "bm25"}, default="none"
        Reweights each item's column before the cosine, treating items as
        documents and users as terms (as implicit's ``TFIDFRecommender`` and
        ``BM25Recommender`` do): a user's entries are multiplied by their
        inverse document frequency ``log(n_items) - log(1 + n_items_u)``,
        so users with many items count less. ``"tfidf"`` also takes the
        square root of the values; ``"bm25"`` saturates them, ``v (k1 + 1)
        / (v + k1 (1 - b + b |i| / mean |i|))`` with ``|i|`` the item's
        total.
    bm25_k1 : float, default=100.0
        BM25 saturation (implicit's default).
    bm25_b : float, default=0.8
        BM25 length normalisation, from 0 (none) to 1 (implicit's default).

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of shape (n_items_, n_items_)
        Row ``i`` holds the similarities of the neighbours of item ``i``.
    explicit_ : bool
        Whether ``fit`` received ``y`` (``predict`` then estimates ratings).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.models import ItemKNN
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
    ...      ["cid", "tea"], ["cid", "pie"], ["dan", "tea"]]
    >>> model = ItemKNN(n_neighbors=2, shrinkage=0).fit(X)
    >>> model.recommend(["dan"], k=1)[0].tolist()
    [['jam']]
    """

    _parameter_constraints = {
        **_NeighbourhoodModel._parameter_constraints,
        "weighting": [StrOptions({"none", "tfidf", "bm25"})],
        "bm25_k1": [Interval(numbers.Real, 0, None, closed="left")],
        "bm25_b": [Interval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        n_neighbors=200,
        shrinkage=10.0,
        weighting="none",
        bm25_k1=100.0,
        bm25_b=0.8,
    ):
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def _fit_neighbours(self):
        columns = self._weighted(sp.csr_matrix(self.interactions_.T, dtype=np.float32))
        self.similarity_ = cosine_neighbours(
            columns,
            columns,
            self.n_neighbors,
            self.shrinkage,
            exclude=np.arange(self.n_items_),
        )
        if self.explicit_:
            self._item_means_ = _means(self.interactions_, axis=0)

    def _weighted(self, columns: sp.csr_matrix) -> sp.csr_matrix:
        """The item x user matrix reweighted by ``weighting``."""
        if self.weighting == "none":
            return columns
        columns = columns.tocoo()
        n_items = max(columns.shape[0], 1)
        per_user = np.bincount(columns.col, minlength=columns.shape[1])
        idf = np.log(n_items) - np.log1p(per_user)
        values = np.abs(columns.data).astype(np.float64)
        if self.weighting == "tfidf":
            values = np.sqrt(values)
        else:
            totals = np.bincount(columns.row, weights=values, minlength=n_items)
            length = (
                1.0 - self.bm25_b + self.bm25_b * totals / max(totals.mean(), 1e-12)
            )
            k1 = self.bm25_k1
            values = values * (k1 + 1.0) / (k1 * length[columns.row] + values)
        columns.data = (values * idf[columns.col]).astype(np.float32)
        return columns.tocsr()

    def _score_history(self, rows):
        return self._dense(rows @ self.similarity_.T)

    def explain(self, user, item, *, n=5):
        """The user's history items that most support the score of ``item``.

        The score is ``sum_j sim(i, j) r_uj`` over the user's items ``j``:
        each term is one reason.

        Parameters
        ----------
        user, item : scalar
            Raw ids.
        n : int, default=5
            Reasons returned.

        Returns
        -------
        explanation : DataFrame
            ``reason`` (a raw item id from the user's history) and ``weight``
            (its additive part of the ranking score), largest first; empty
            for an unknown user or item.

        Examples
        --------
        >>> from sk_recsys.models import ItemKNN
        >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
        ...      ["cid", "pie"], ["dan", "tea"], ["dan", "pie"], ["eve", "tea"]]
        >>> ItemKNN(shrinkage=0).fit(X).explain("eve", "jam")
          reason    weight
        0    tea  0.707107
        """

        def weigh(u, i, row):
            return self.similarity_[i].toarray().ravel()[row.indices] * row.data

        return self._explain_history(user, item, n, weigh)

    def _score_users(self, users):
        return self._score_history(self.interactions_[users])

    def _rating_rows(self, users):
        rows = self.interactions_[users]
        weights = self.similarity_.T
        return self._centred_average(
            torch.from_numpy(self._item_means_),
            _centred(rows, self._item_means_, axis=0) @ weights,
            (rows != 0).astype(np.float32) @ weights,
        )


class UserKNN(_NeighbourhoodModel):
    """User-based k-nearest-neighbour collaborative filtering.

    Two users are similar when they interacted with the same items: the
    shrunk cosine ``sim(u, v) = r_u . r_v / (|r_u| |r_v| + shrinkage)`` over
    their rows of the user-item matrix (weighted by ``y`` when given). A
    user's score for item ``i`` is ``sum_v sim(u, v) r_vi`` over their
    ``n_neighbors`` most similar users. A new user is folded in from
    ``history=`` in :meth:`recommend`: their neighbours are found among the
    training users.

    Fitted with ratings ``y``, :meth:`predict` estimates a rating:
    ``mean_u + sum_v sim(u, v) (r_vi - mean_v) / sum_v sim(u, v)`` over the
    neighbours who rated ``i`` (``mean_u`` when none), clipped to the range
    of ``y``.

    Parameters
    ----------
    n_neighbors : int, default=50
        Neighbours kept per user.
    shrinkage : float, default=0.0
        Added to the cosine denominator; larger values trust pairs with few
        common items less.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of shape (n_users_, n_users_)
        Row ``u`` holds the similarities of the neighbours of user ``u``.
    explicit_ : bool
        Whether ``fit`` received ``y`` (``predict`` then estimates ratings).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.models import UserKNN
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
    ...      ["bob", "pie"], ["cid", "rye"]]
    >>> model = UserKNN(n_neighbors=1, shrinkage=0).fit(X)
    >>> model.recommend(["ann"], k=1)[0].tolist()
    [['pie']]
    """

    def __init__(self, n_neighbors=50, shrinkage=0.0):
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage

    def _fit_neighbours(self):
        self.similarity_ = cosine_neighbours(
            self.interactions_,
            self.interactions_,
            self.n_neighbors,
            self.shrinkage,
            exclude=np.arange(self.n_users_),
        )
        if self.explicit_:
            self._user_means_ = _means(self.interactions_, axis=1)
            self._centred_ = _centred(self.interactions_, self._user_means_, axis=1)
            self._support_ = (self.interactions_ != 0).astype(np.float32)

    def _score_history(self, rows):
        weights = cosine_neighbours(
            sp.csr_matrix(rows, dtype=np.float32),
            self.interactions_,
            self.n_neighbors,
            self.shrinkage,
        )
        return self._dense(weights @ self.interactions_)

    def _score_users(self, users):
        return self._dense(self.similarity_[users] @ self.interactions_)

    def explain(self, user, item, *, n=5):
        """The user's history items that most support the score of ``item``.

        The score ``sum_v sim(u, v) r_vi`` is linear in the user's row, since
        ``sim(u, v) = sum_j r_uj r_vj / (|r_u| |r_v| + shrinkage)``; item
        ``j`` of the history contributes ``r_uj sum_v r_vj r_vi / (|r_u|
        |r_v| + shrinkage)`` over the user's neighbours ``v``.

        Parameters
        ----------
        user, item : scalar
            Raw ids.
        n : int, default=5
            Reasons returned.

        Returns
        -------
        explanation : DataFrame
            ``reason`` (a raw item id from the user's history) and ``weight``
            (its additive part of the ranking score), largest first; empty
            for an unknown user or item.

        Examples
        --------
        >>> from sk_recsys.models import UserKNN
        >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
        ...      ["bob", "pie"], ["cid", "rye"]]
        >>> UserKNN(n_neighbors=1).fit(X).explain("ann", "pie")["reason"].tolist()
        ['jam', 'tea']
        """

        def weigh(u, i, row):
            matrix = self.interactions_
            neighbours = self.similarity_[u].indices
            norms = _row_norms(matrix)
            scale = matrix[neighbours, i].toarray().ravel() / (
                norms[u] * norms[neighbours] + self.shrinkage + 1e-12
            )
            through = np.asarray(scale @ matrix[neighbours][:, row.indices]).ravel()
            return row.data * through

        return self._explain_history(user, item, n, weigh)

    def _rating_rows(self, users):
        weights = self.similarity_[users]
        return self._centred_average(
            torch.from_numpy(self._user_means_[users])[:, None],
            weights @ self._centred_,
            weights @ self._support_,
        )
