"""Raw id <-> contiguous index encoding and the user-item interaction matrix."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

__all__ = [
    "encode_ids",
    "interaction_matrix",
    "lookup_ids",
    "mask_entries",
    "matrix_rows",
]


def encode_ids(*id_arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Map raw ids to contiguous indices ``0..n-1`` in sorted id order.

    Several arrays share one encoding, so ids present in any of them (e.g.
    the items of ``X`` and those only in ``item_features``) get an index.

    Parameters
    ----------
    *id_arrays : ndarray
        Normalised raw id arrays (see :func:`check_interactions`).

    Returns
    -------
    uniques : ndarray of shape (n_unique,)
        The sorted distinct ids; ``uniques[code]`` is the raw id of ``code``.
    codes : list of ndarray of int32
        For each input array, the index of each of its ids (int64 when there
        are more than ``2**31 - 1`` distinct ids).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_recsys.data import encode_ids
    >>> uniques, (codes,) = encode_ids(np.array(["b", "a", "b"], dtype=object))
    >>> uniques.tolist(), codes.tolist()
    (['a', 'b'], [1, 0, 1])
    """
    sizes = [len(a) for a in id_arrays]
    pooled = np.concatenate(id_arrays) if len(id_arrays) > 1 else id_arrays[0]
    dense = _dense_int_codes(pooled)
    if dense is not None:
        uniques, codes = dense
    else:
        codes, uniques = pd.factorize(pooled, sort=True)
        uniques = np.asarray(uniques, dtype=object if pooled.dtype == object else None)
        codes = codes.astype(_index_type(len(uniques)))
    bounds = np.cumsum([0, *sizes])
    return uniques, [codes[a:b] for a, b in pairwise(bounds)]


def _index_type(n_unique: int):
    """int32 (4 bytes a row, as the training rows and the CSR matrix keep
    them) while it holds every index, else int64."""
    return np.int32 if n_unique <= np.iinfo(np.int32).max else np.int64


def _dense_int_codes(ids: np.ndarray):
    """``(uniques, codes)`` of integer ids spanning at most about twice their
    count, through a lookup table over the span; None for other ids.

    Faster than hashing, and it holds no int64 copy of the ids: the common
    case of ids numbered from 0 or 1.
    """
    if ids.dtype.kind not in "iu" or not len(ids):
        return None
    low, high = ids.min(), ids.max()
    span = int(high) - int(low) + 1
    if span > 2 * len(ids) + 1024:
        return None
    # In the ids' own dtype when the span fits it (no int64 copy of the ids).
    wide = span - 1 > np.iinfo(ids.dtype).max
    offsets = ids.astype(np.int64) - int(low) if wide else ids - low
    present = np.zeros(span, dtype=bool)
    present[offsets] = True
    uniques = (np.flatnonzero(present) + low).astype(ids.dtype)
    table = np.cumsum(present, dtype=np.int64) - 1
    codes = table.astype(_index_type(len(uniques)))[offsets]
    return uniques, codes


def lookup_ids(index: pd.Index, ids: np.ndarray) -> np.ndarray:
    """Return the index of each raw id in ``index``, ``-1`` where unknown.

    Parameters
    ----------
    index : pandas.Index
        Fitted ids in index order (unique).
    ids : ndarray
        Normalised raw ids to look up.

    Returns
    -------
    codes : ndarray of int64

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_recsys.data import lookup_ids
    >>> lookup_ids(pd.Index([10, 20]), np.array([20, 30])).tolist()
    [1, -1]
    """
    if len(ids) == 0:
        return np.empty(0, dtype=np.int64)
    return index.get_indexer(ids).astype(np.int64, copy=False)


def interaction_matrix(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    values: np.ndarray | None = None,
    *,
    shape: tuple[int, int],
) -> sp.csr_matrix:
    """Build the float32 user-item CSR matrix; repeated pairs are summed.

    Summing makes repeated implicit events (plays, clicks) accumulate into a
    weight; deduplicate explicit ratings beforehand if each pair should count
    once.

    Parameters
    ----------
    user_codes, item_codes : ndarray of int
        Row and column index of each interaction.
    values : ndarray of shape (n_interactions,), default=None
        Interaction values; ``None`` means 1 for every interaction.
    shape : tuple of int
        ``(n_users, n_items)``.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix of float32, canonical format

    Examples
    --------
    >>> import numpy as np
    >>> from sk_recsys.data import interaction_matrix
    >>> R = interaction_matrix(np.array([0, 0, 1]), np.array([1, 1, 0]), shape=(2, 2))
    >>> R.toarray().tolist()
    [[0.0, 2.0], [1.0, 0.0]]
    """
    if values is None:
        values = np.ones(len(user_codes), dtype=np.float32)
    matrix = sp.csr_matrix(
        (np.asarray(values, dtype=np.float32), (user_codes, item_codes)),
        shape=shape,
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def matrix_rows(matrix: sp.csr_matrix, codes: np.ndarray) -> sp.csr_matrix:
    """Rows ``codes`` of a CSR matrix; a code of -1 (unknown) gives an empty row.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from sk_recsys.data import matrix_rows
    >>> R = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    >>> matrix_rows(R, np.array([1, -1])).toarray().tolist()
    [[0.0, 2.0], [0.0, 0.0]]
    """
    codes = np.asarray(codes)
    rows = sp.csr_matrix(matrix)[np.maximum(codes, 0)]
    unknown = codes < 0
    if unknown.any():
        rows = sp.csr_matrix(sp.diags((~unknown).astype(np.float32)) @ rows)
        rows.eliminate_zeros()
    return sp.csr_matrix(rows)


def mask_entries(scores: torch.Tensor, entries: sp.csr_matrix) -> torch.Tensor:
    """Set ``scores`` to -inf, in place, where ``entries`` (same shape) has one.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, torch
    >>> from sk_recsys.data import mask_entries
    >>> scores = torch.zeros(2, 2)
    >>> mask_entries(scores, sp.csr_matrix(np.array([[1, 0], [0, 1]]))).tolist()
    [[-inf, 0.0], [0.0, -inf]]
    """
    entries = sp.csr_matrix(entries)
    rows = np.repeat(np.arange(entries.shape[0]), np.diff(entries.indptr))
    scores[
        torch.from_numpy(rows).to(scores.device),
        torch.from_numpy(entries.indices.astype(np.int64)).to(scores.device),
    ] = -torch.inf
    return scores
