"""Compiled kernels for the sparse item-item models (optional: numba).

A sparse product ``left @ right`` whose rows are cut to their ``k`` largest
entries is the whole fit of :class:`~sk_recsys.models.RP3Beta`, and, with
each entry divided by the two norms, the shrunk cosine neighbourhoods of
:class:`~sk_recsys.models.ItemKNN` and :class:`~sk_recsys.models.UserKNN`
(:func:`sk_recsys.models.knn.cosine_neighbours`). In numpy and
torch it takes several passes over every stored entry of the product (the
product, then the ranking; see :func:`sk_recsys.models.knn.top_k_rows`).
:func:`product_top_k` fuses them: each row of the product is accumulated in
a dense buffer that stays in the cache (Gustavson's algorithm), ranked, and
only its ``k`` kept entries are written, rows in parallel on
``torch.get_num_threads()`` threads.

:func:`slim_weights` is :class:`~sk_recsys.models.SLIM`'s fit: every
item's non-negative elastic net on the other items, scikit-learn's
coordinate descent and stopping rule, each column visiting only the items
that share a row with it, columns in parallel.

It needs ``numba`` (``pip install "sk-recsys[fast]"``); :data:`AVAILABLE`
says whether it is installed, and callers fall back to the numpy path when
it is not. Both paths keep the same entries, ties at a row's k-th value
going to the lower columns.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["AVAILABLE", "product_top_k", "slim_weights", "top_k_columns"]

AVAILABLE = importlib.util.find_spec("numba") is not None
# Imported by the first kernel call (_compiled), not with sk_recsys: the
# import alone takes 0.25 s.
numba = None

# product_top_k writes each row's kept entries to k slots, this many a block
_BLOCK_SLOTS = 1 << 23


def _product_top_k_rows(
    left_indptr,
    left_indices,
    left_data,
    right_indptr,
    right_indices,
    right_data,
    n_cols,
    k,
    own,
    cosine,
    row_norms,
    col_norms,
    shrinkage,
    first,
    n_chunks,
    out_cols,
    out_vals,
    out_counts,
):
    """Rows ``first + r`` of ``left @ right``, cut to their ``k`` largest entries.

    With ``cosine``, entry ``(i, j)`` is first divided by ``row_norms[i] *
    col_norms[j] + shrinkage`` (float32, as the numpy path computes it).
    Only positive entries are kept. Row ``first + r`` writes its ``c`` kept
    columns and values to ``out_cols[r, :c]``, ``out_vals[r, :c]`` (in no
    particular order) and ``c`` to ``out_counts[r]``, for ``r`` below
    ``len(out_counts)``. The rows are split into ``n_chunks`` contiguous
    runs, one per parallel task, each with its own dense accumulator of
    ``n_cols`` cells.
    """
    n_rows = len(out_counts)
    per_chunk = (n_rows + n_chunks - 1) // n_chunks
    for chunk in numba.prange(n_chunks):
        start = first + chunk * per_chunk
        stop = min(start + per_chunk, first + n_rows)
        acc = np.zeros(n_cols, dtype=np.float32)
        seen = np.zeros(n_cols, dtype=np.bool_)
        touched = np.empty(n_cols, dtype=np.int64)
        cand_cols = np.empty(n_cols, dtype=np.int64)
        cand_vals = np.empty(n_cols, dtype=np.float32)
        for i in range(start, stop):
            # Gustavson: the row is the sum of right's rows, weighted
            work = 0
            for p in range(left_indptr[i], left_indptr[i + 1]):
                inner = left_indices[p]
                work += right_indptr[inner + 1] - right_indptr[inner]
            # A row whose work reaches the width is read by a scan of all
            # columns, with no bookkeeping per multiply-add (0.25 s -> 0.21 s
            # on the ML-1M subset); a sparser one keeps the list of the
            # columns it touched, so its cost stays its work.
            dense = work >= n_cols
            n_touched = 0
            for p in range(left_indptr[i], left_indptr[i + 1]):
                inner = left_indices[p]
                weight = left_data[p]
                if dense:
                    for q in range(right_indptr[inner], right_indptr[inner + 1]):
                        acc[right_indices[q]] += weight * right_data[q]
                    continue
                for q in range(right_indptr[inner], right_indptr[inner + 1]):
                    j = right_indices[q]
                    if not seen[j]:
                        seen[j] = True
                        touched[n_touched] = j
                        n_touched += 1
                    acc[j] += weight * right_data[q]
            mine = own[i]
            # the positive entries, other than the row's own column
            n_cand = 0
            for t in range(n_cols if dense else n_touched):
                j = t if dense else touched[t]
                value = acc[j]
                acc[j] = 0.0
                seen[j] = False
                if cosine and value != 0.0:
                    value = value / (row_norms[i] * col_norms[j] + shrinkage)
                if value > 0.0 and j != mine:
                    cand_cols[n_cand] = j
                    cand_vals[n_cand] = value
                    n_cand += 1
            n_kept = n_cand
            if n_cand > k:
                # the k-th largest value: the entries above it are kept,
                # and those equal to it fill the row up by column
                kth = np.partition(cand_vals[:n_cand], n_cand - k)[n_cand - k]
                n_equal = 0
                for t in range(n_cand):
                    if cand_vals[t] == kth:
                        n_equal += 1
                ties = np.empty(n_equal, dtype=np.int64)
                n_equal = 0
                n_kept = 0
                for t in range(n_cand):  # compacted in place: n_kept <= t
                    if cand_vals[t] > kth:
                        cand_cols[n_kept] = cand_cols[t]
                        cand_vals[n_kept] = cand_vals[t]
                        n_kept += 1
                    elif cand_vals[t] == kth:
                        ties[n_equal] = cand_cols[t]
                        n_equal += 1
                if n_equal > k - n_kept:
                    ties = np.sort(ties)
                for t in range(k - n_kept):
                    cand_cols[n_kept] = ties[t]
                    cand_vals[n_kept] = kth
                    n_kept += 1
            # in the order found: sorting each row by column cost more than
            # the rest of the ranking (Last.fm-2K: 0.084 s with, 0.068 s
            # without; callers sort the final matrix once)
            for t in range(n_kept):
                out_cols[i - first, t] = cand_cols[t]
                out_vals[i - first, t] = cand_vals[t]
            out_counts[i - first] = n_kept


def _compact(out_cols, out_vals, indptr, cols, vals):
    """Each row's kept entries, from its ``k`` slots to their CSR place."""
    for i in numba.prange(len(indptr) - 1):
        start = indptr[i]
        for t in range(indptr[i + 1] - start):
            cols[start + t] = out_cols[i, t]
            vals[start + t] = out_vals[i, t]


def _top_k_columns_mask(indptr, indices, data, n_cols, k, keep, kept_counts):
    """``keep[e]``: whether stored entry ``e`` is among its column's ``k`` largest.

    Only positive entries are kept; ties at a column's k-th value keep the
    lower rows; ``kept_counts[i]`` counts the entries kept in row ``i``.
    Three passes over the entries and one over the long columns' values,
    with no transpose.
    """
    counts = np.zeros(n_cols, dtype=np.int64)
    for e in range(len(indices)):
        if data[e] > 0.0:
            counts[indices[e]] += 1
    # the positive values of each column holding more than k of them
    starts = np.zeros(n_cols + 1, dtype=np.int64)
    for j in range(n_cols):
        starts[j + 1] = starts[j] + (counts[j] if counts[j] > k else 0)
    values = np.empty(starts[n_cols], dtype=data.dtype)
    filled = starts[:n_cols].copy()
    for e in range(len(indices)):
        j = indices[e]
        if counts[j] > k and data[e] > 0.0:
            values[filled[j]] = data[e]
            filled[j] += 1
    # each long column's k-th value, and how many entries equal to it fit
    kth = np.zeros(n_cols, dtype=data.dtype)
    need = np.zeros(n_cols, dtype=np.int64)
    for j in numba.prange(n_cols):
        if counts[j] > k:
            column = values[starts[j] : starts[j + 1]]
            at = np.partition(column, len(column) - k)[len(column) - k]
            kth[j] = at
            above = 0
            for v in column:
                if v > at:
                    above += 1
            need[j] = k - above
    # the entries, rows in order, so the lower rows take the ties
    for i in range(len(indptr) - 1):
        kept = 0
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            v = data[e]
            if v <= 0.0:
                keep[e] = False
            elif counts[j] <= k or v > kth[j]:
                keep[e] = True
            elif v == kth[j] and need[j] > 0:
                keep[e] = True
                need[j] -= 1
            else:
                keep[e] = False
            kept += keep[e]
        kept_counts[i] = kept


def _slim_columns(
    x_indptr,
    x_indices,
    x_data,
    norms,
    c_indptr,
    c_indices,
    n_rows,
    l1,
    l2,
    max_iter,
    tol,
    n_chunks,
    weights,
    n_iter,
):
    """Each column's non-negative elastic net, by scikit-learn's coordinate descent.

    Column ``j`` of ``X`` (CSC: ``x_indptr``, ``x_indices``, ``x_data``;
    ``norms`` its columns' squared norms) solves ``min 1/2 |x_j - X w|^2 +
    l2/2 |w|^2 + l1 |w|_1``, ``w >= 0``, ``w_j = 0``, with scikit-learn's
    cyclic updates on the residual ``R = x_j - X w`` (a dense buffer of
    ``n_rows``, its touched rows listed so that it is cleared in their
    number). As ``X`` is non-negative, the weight of an item that shares
    no row with ``j`` never leaves zero (its ``X_k . R <= 0``), so a sweep
    visits only column ``j``'s candidates, ``c_indices[c_indptr[j]:
    c_indptr[j + 1]]`` in increasing order (scikit-learn's order), and
    writes their weights to the same slots of ``weights``.

    The stopping rule is scikit-learn's: the duality gap (formulation A),
    checked before the first sweep and after every sweep whose largest
    update is below ``tol`` times the largest weight, must fall to ``tol
    |x_j|^2``; outside the candidates ``X'R - l2 w <= 0`` and it is 0 at
    ``j``, so the dual norm is the largest over the candidates and 0.
    ``n_iter[j]`` is the sweeps run, or -1 when the gap never got there
    within ``max_iter``.
    """
    n = len(x_indptr) - 1
    per_chunk = (n + n_chunks - 1) // n_chunks
    for chunk in numba.prange(n_chunks):
        residual = np.zeros(n_rows, dtype=np.float64)
        active = np.empty(n, dtype=np.int64)
        seen = np.zeros(n_rows, dtype=np.bool_)
        touched = np.empty(n_rows, dtype=np.int64)
        for j in range(chunk * per_chunk, min((chunk + 1) * per_chunk, n)):
            start, stop = c_indptr[j], c_indptr[j + 1]
            y_norm2 = norms[j]
            n_iter[j] = 0
            if y_norm2 == 0.0:
                continue
            n_touched = 0
            for e in range(x_indptr[j], x_indptr[j + 1]):
                u = x_indices[e]
                residual[u] = x_data[e]
                seen[u] = True
                touched[n_touched] = u
                n_touched += 1
            n_iter[j] = -1
            check = True  # scikit-learn checks the gap before the first sweep
            for sweep in range(max_iter + 1):
                if check:
                    l1_norm = 0.0
                    l2_norm2 = 0.0
                    dual_norm = 0.0
                    for p in range(start, stop):
                        k = c_indices[p]
                        if k == j:
                            continue
                        w = weights[p]
                        l1_norm += w
                        l2_norm2 += w * w
                        xr = 0.0
                        for e in range(x_indptr[k], x_indptr[k + 1]):
                            xr += x_data[e] * residual[x_indices[e]]
                        dual_norm = max(dual_norm, xr - l2 * w)
                    r_norm2 = 0.0
                    for t in range(n_touched):
                        r_norm2 += residual[touched[t]] ** 2
                    ry = 0.0
                    for e in range(x_indptr[j], x_indptr[j + 1]):
                        ry += residual[x_indices[e]] * x_data[e]
                    scale = l1 / dual_norm if dual_norm > l1 else 1.0
                    primal = 0.5 * (r_norm2 + l2 * l2_norm2) + l1 * l1_norm
                    dual = -0.5 * scale * scale * (r_norm2 + l2 * l2_norm2)
                    dual += scale * ry
                    if primal - dual <= tol * y_norm2:
                        n_iter[j] = sweep
                        break
                if sweep == max_iter:
                    break
                # a sweep over every candidate, then sweeps over the nonzero
                # weights only until they settle (glmnet's active set)
                n_active = stop - start
                for inner in range(max_iter + 1):
                    w_max = 0.0
                    d_w_max = 0.0
                    n_next = 0
                    for a in range(n_active):
                        p = start + a if inner == 0 else active[a]
                        k = c_indices[p]
                        if k == j:
                            continue
                        old = weights[p]
                        xr = 0.0
                        for e in range(x_indptr[k], x_indptr[k + 1]):
                            xr += x_data[e] * residual[x_indices[e]]
                        rho = xr + norms[k] * old - l1
                        new = rho / (norms[k] + l2) if rho > 0.0 else 0.0
                        if new != old:
                            delta = new - old
                            for e in range(x_indptr[k], x_indptr[k + 1]):
                                u = x_indices[e]
                                residual[u] -= x_data[e] * delta
                                if not seen[u]:
                                    seen[u] = True
                                    touched[n_touched] = u
                                    n_touched += 1
                            weights[p] = new
                            d_w_max = max(d_w_max, abs(delta))
                        w_max = max(w_max, new)
                        if new > 0.0:
                            active[n_next] = p
                            n_next += 1
                    settled = w_max == 0.0 or d_w_max / w_max <= tol
                    if inner == 0:
                        check = settled or sweep == max_iter - 1
                        if check:
                            break
                    elif settled:
                        break
                    n_active = n_next
            for t in range(n_touched):
                residual[touched[t]] = 0.0
                seen[touched[t]] = False


def _compiled():
    """The compiled kernels, in the order they are defined here.

    Raises ImportError without numba.
    """
    if not AVAILABLE:
        raise ImportError(
            'this kernel needs numba: pip install "sk-recsys[fast]" (or numba).'
        )
    return _compile()


@functools.cache
def _compile():
    # compiled once, or loaded from numba's on-disk cache
    global numba
    import numba as module

    numba = module  # the kernels read numba.prange from this module's globals
    jit = numba.njit(parallel=True, cache=True, nogil=True)
    return (
        jit(_product_top_k_rows),
        jit(_compact),
        jit(_top_k_columns_mask),
        jit(_slim_columns),
    )


@contextlib.contextmanager
def _threads(n_threads=None):
    """numba's parallel loops on ``n_threads`` (or ``torch.get_num_threads()``).

    torch's own thread count is left as it was. numba's OpenMP layer, when it
    starts its threads (the first parallel call of a process), sets the
    calling thread's OpenMP count to every core, and torch reads its count
    from there: a process set to one torch thread would go on with torch on
    all cores, oversubscribing the CPU beside other processes.
    """
    torch_threads = torch.get_num_threads()
    previous = numba.get_num_threads()  # the first call starts numba's threads
    wanted = torch_threads if n_threads is None else n_threads
    numba.set_num_threads(max(1, min(wanted, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


def _unsigned(index):
    """``index`` as unsigned 32-bit integers where its values fit.

    numba tests every signed subscript for a negative value; with unsigned
    ones the kernel took 0.132 s instead of 0.219 s on the ML-1M subset's
    item-item product (one thread, other processes on the cores). Larger
    values stay signed 64-bit (numba turns uint64 mixed with int64 into
    float64, which cannot index).
    """
    if index.dtype == np.int32:
        return index.view(np.uint32)
    if len(index) == 0 or index.max() < 2**32:
        return index.astype(np.uint32)
    return index.astype(np.int64)


def product_top_k(
    left, right, k: int, *, exclude=None, norms=None, shrinkage=0.0
) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row of ``left @ right``.

    The product is accumulated in float32, a row at a time, and never held
    whole; ties at a row's k-th value keep the lower columns, as
    :func:`sk_recsys.models.knn.top_k_rows` does. With ``norms``, each
    entry is a shrunk cosine first: divided by ``row_norms[i] *
    col_norms[j] + shrinkage``.

    Parameters
    ----------
    left : sparse matrix of shape (n_rows, n_inner)
    right : sparse matrix of shape (n_inner, n_cols)
    k : int
    exclude : ndarray of shape (n_rows,), default=None
        For each row, a column it may not keep (itself), or -1.
    norms : tuple of ndarray of shapes (n_rows,) and (n_cols,), default=None
        ``(row_norms, col_norms)``.
    shrinkage : float, default=0.0
        Used with ``norms``.

    Returns
    -------
    kept : csr_matrix of shape (n_rows, n_cols), float32
        Each row's entries in no particular order (``sort_indices()``
        orders them).

    Raises
    ------
    ImportError
        When numba is not installed (see :data:`AVAILABLE`).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_recsys.models import _kernels
    >>> A = sp.csr_matrix([[1.0, 1.0], [0.0, 2.0]])
    >>> B = sp.csr_matrix([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    >>> print(_kernels.product_top_k(A, B, 2).toarray())
    [[0. 3. 3.]
     [0. 2. 6.]]
    """
    product_rows, compact, *_ = _compiled()
    left = sp.csr_matrix(left, dtype=np.float32)
    right = sp.csr_matrix(right, dtype=np.float32)
    n_rows, n_cols = left.shape[0], right.shape[1]
    k = min(k, n_cols)
    if k <= 0 or n_rows == 0:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    own = (
        np.full(n_rows, -1, dtype=np.int64)
        if exclude is None
        else np.asarray(exclude, dtype=np.int64)
    )
    args = (
        _unsigned(left.indptr),
        _unsigned(left.indices),
        left.data,
        _unsigned(right.indptr),
        _unsigned(right.indices),
        right.data,
        n_cols,
        k,
        own,
        norms is not None,
        *(
            (np.ones(n_rows, np.float32), np.ones(n_cols, np.float32))
            if norms is None
            else (np.asarray(n, dtype=np.float32) for n in norms)
        ),
        np.float32(shrinkage),
    )
    # the kept entries of a block of rows are written to k slots a row,
    # about 2**23 slots a block, then packed
    step = max(1, _BLOCK_SLOTS // k)
    counts, cols, vals = [], [], []
    with _threads():
        # a few chunks per thread even out rows of unequal length
        n_chunks = 8 * numba.get_num_threads()
        for start in range(0, n_rows, step):
            size = min(step, n_rows - start)
            out_cols = np.empty((size, k), dtype=np.int32)
            out_vals = np.empty((size, k), dtype=np.float32)
            out_counts = np.zeros(size, dtype=np.int64)
            product_rows(
                *args, start, min(size, n_chunks), out_cols, out_vals, out_counts
            )
            offsets = np.zeros(size + 1, dtype=np.int64)
            np.cumsum(out_counts, out=offsets[1:])
            cols.append(np.empty(offsets[-1], dtype=np.int32))
            vals.append(np.empty(offsets[-1], dtype=np.float32))
            compact(out_cols, out_vals, offsets, cols[-1], vals[-1])
            counts.append(out_counts)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=indptr[1:])
    cols, vals = np.concatenate(cols), np.concatenate(vals)
    kept = sp.csr_matrix((vals, cols, indptr), shape=(n_rows, n_cols))
    kept.has_sorted_indices = False
    return kept


def top_k_columns(matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each column of a sparse matrix.

    ``top_k_sparse_rows(matrix.T, k).T`` of :mod:`sk_recsys.models.knn`,
    without the two transposes: ties at a column's k-th value keep the
    lower rows, and the rows keep their order.

    Parameters
    ----------
    matrix : sparse matrix of shape (n_rows, n_cols)
        Holding each (row, column) at most once.
    k : int

    Returns
    -------
    kept : csr_matrix of shape (n_rows, n_cols), float32

    Raises
    ------
    ImportError
        When numba is not installed (see :data:`AVAILABLE`).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_recsys.models import _kernels
    >>> X = sp.csr_matrix([[3.0, 0.0], [1.0, 5.0], [2.0, -1.0]])
    >>> print(_kernels.top_k_columns(X, 2).toarray())
    [[3. 0.]
     [0. 5.]
     [2. 0.]]
    """
    columns_mask = _compiled()[2]
    # no sum_duplicates: it would sort every row (the caller's rows hold
    # each column once)
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    if k <= 0:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    keep = np.empty(matrix.nnz, dtype=np.bool_)
    counts = np.zeros(matrix.shape[0], dtype=np.int64)
    with _threads():
        columns_mask(
            _unsigned(matrix.indptr),
            _unsigned(matrix.indices),
            matrix.data,
            matrix.shape[1],
            k,
            keep,
            counts,
        )
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    kept = sp.csr_matrix(
        (matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape
    )
    kept.has_sorted_indices = matrix.has_sorted_indices
    return kept


def slim_weights(matrix, l1: float, l2: float, *, max_iter: int, tol: float, n_threads):
    """SLIM's weight matrix: every item's non-negative elastic net on the others.

    The same problem, updates and stopping rule as scikit-learn's
    :class:`~sklearn.linear_model.ElasticNet` (``alpha = (l1 + l2) /
    n_rows``, ``l1_ratio = l1 / (l1 + l2)``, ``positive=True``, cyclic
    coordinate descent) fitting each column of ``matrix`` on the others,
    columns in parallel with no Python between them; a column's sweep
    visits only the items that share a row with it (see
    :func:`_slim_columns`), where scikit-learn's visits every item.

    Parameters
    ----------
    matrix : sparse matrix of shape (n_rows, n_items)
        Non-negative (an item sharing no row with a column could otherwise
        take a weight).
    l1, l2 : float
    max_iter : int
    tol : float
    n_threads : int

    Returns
    -------
    weights : csc_matrix of shape (n_items, n_items), float64
        Column ``j`` holds the weights of the items predicting ``j``.
    n_unconverged : int
        Columns whose duality gap stayed above ``tol |x_j|^2``.

    Raises
    ------
    ImportError
        When numba is not installed (see :data:`AVAILABLE`).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_recsys.models import _kernels
    >>> X = sp.csc_matrix([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    >>> W, _ = _kernels.slim_weights(X, 0.1, 1.0, max_iter=100, tol=1e-8,
    ...                              n_threads=1)
    >>> print(W.toarray().round(3))
    [[0.    0.475 0.   ]
     [0.475 0.    0.475]
     [0.    0.475 0.   ]]
    """
    slim = _compiled()[3]
    matrix = sp.csc_matrix(matrix, dtype=np.float64)
    matrix.sort_indices()
    n_rows, n_items = matrix.shape
    # each column's candidates: the items sharing a row with it, in order
    pattern = matrix.copy()
    pattern.data = np.ones_like(pattern.data, dtype=np.float32)
    candidates = sp.csc_matrix(pattern.T @ pattern)
    candidates.sort_indices()
    weights = np.zeros(candidates.nnz, dtype=np.float64)
    n_iter = np.zeros(n_items, dtype=np.int64)
    with _threads(n_threads):
        n_chunks = max(1, min(n_items, 8 * numba.get_num_threads()))
        slim(
            _unsigned(matrix.indptr),
            _unsigned(matrix.indices),
            matrix.data,
            np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel(),
            candidates.indptr.astype(np.int64),  # slots, counted with int64
            _unsigned(candidates.indices),
            n_rows,
            float(l1),
            float(l2),
            int(max_iter),
            float(tol),
            n_chunks,
            weights,
            n_iter,
        )
    result = sp.csc_matrix(
        (weights, candidates.indices, candidates.indptr), shape=candidates.shape
    )
    result.eliminate_zeros()
    return result, int((n_iter < 0).sum())
