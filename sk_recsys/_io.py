"""Writing recommendations for many users to disk, a chunk of users at a time."""

from __future__ import annotations

import numpy as np

from ._config import chunk_rows
from .data import check_ids

__all__ = ["recommend_to_parquet"]


def recommend_to_parquet(
    model,
    path,
    users=None,
    k=10,
    *,
    exclude_seen=True,
    candidates=None,
    chunk_size=None,
):
    """Stream the top ``k`` items of many users into a Parquet file.

    Users are ranked a chunk at a time with ``model.recommend`` and each
    chunk is appended to the file as one row group, so memory stays
    O(chunk x n_items) (see :func:`sk_recsys.set_config`) however many users
    there are. Needs ``pyarrow`` (``pip install "sk-recsys[io]"``).

    Parameters
    ----------
    model : fitted recommender
        Anything with ``recommend``, ``users_`` and ``items_``.
    path : str or path-like
        The Parquet file to write (replaced if it exists).
    users : array-like of shape (n_users,), default=None
        Raw user ids; ``None`` means every training user, in ``users_`` order.
    k : int, default=10
        Items per user.
    exclude_seen : bool, default=True
        Leave out each user's training items.
    candidates : array-like of item ids, default=None
        Rank only these items.
    chunk_size : int, default=None
        Users per chunk; ``None`` sizes chunks from the working memory.

    Returns
    -------
    n_rows : int
        Rows written. Columns: ``user``, ``item``, ``rank`` (1 is best),
        ``score``. Padding (users with fewer than ``k`` rankable items) is
        not written, so a user may have fewer than ``k`` rows.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from sk_recsys import Popularity, recommend_to_parquet
    >>> X = [["ann", "tea"], ["bob", "tea"], ["bob", "jam"], ["cid", "pie"]]
    >>> model = Popularity().fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "recs.parquet")
    ...     n_rows = recommend_to_parquet(model, path, k=2)
    ...     recs = pd.read_parquet(path)
    >>> n_rows
    5
    >>> recs.head(2)
      user item  rank  score
    0  ann  jam     1    1.0
    1  ann  pie     2    1.0
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    users = np.asarray(model.users_) if users is None else check_ids(users)
    if chunk_size is None:
        device = getattr(model, "_scoring_device", lambda: "cpu")()
        chunk_size = chunk_rows(len(model.items_), device)
    elif isinstance(chunk_size, bool) or not (
        isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1
    ):
        raise ValueError(
            f"chunk_size={chunk_size!r} is not a positive integer; pass a number "
            "of users, or None to size chunks from the working memory."
        )
    n_rows = 0
    writer = None
    try:
        for start in range(0, max(len(users), 1), chunk_size):
            chunk = users[start : start + chunk_size]
            ids, scores = model.recommend(
                chunk, k, exclude_seen=exclude_seen, candidates=candidates
            )
            keep = ~np.isneginf(scores)
            rows, ranks = np.nonzero(keep)
            table = pa.table(
                {
                    "user": _column(chunk[rows]),
                    "item": _column(ids[keep]),
                    "rank": pa.array(ranks + 1, type=pa.int32()),
                    "score": pa.array(scores[keep], type=pa.float32()),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            n_rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return n_rows


def _column(values: np.ndarray):
    """An Arrow column of raw ids (object arrays hold str ids)."""
    import pyarrow as pa

    if values.dtype == object:
        return pa.array(values.tolist(), type=pa.string())
    return pa.array(values)
