"""Validation of interaction data: ``X`` (user id, item id, context...) and ``y``.

Every public entry point of the package funnels user input through these
functions, so a bad input fails here with a one-sentence ``ValueError`` (or
``TypeError`` for the wrong kind of object) instead of deep inside torch.
Nothing the user passed is modified: columns are read, converted copies are
returned.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning

__all__ = [
    "Interactions",
    "check_features",
    "check_ids",
    "check_interactions",
    "get_column",
]

_ID_COLUMNS = {0: "user", 1: "item"}


class Interactions(NamedTuple):
    """Validated interaction rows, as returned by :func:`check_interactions`.

    Attributes
    ----------
    users : ndarray of shape (n_interactions,)
        Raw user ids (column 0 of ``X``), int/float or object (str) dtype.
    items : ndarray of shape (n_interactions,)
        Raw item ids (column 1 of ``X``).
    y : ndarray of shape (n_interactions,) or None
        Ratings or implicit weights as float64, ``None`` for implicit feedback.
    n_features : int
        Number of columns of ``X`` (ids plus context).
    """

    users: np.ndarray
    items: np.ndarray
    y: np.ndarray | None
    n_features: int


def _id_kind(ids: np.ndarray) -> str:
    """Return ``"str"`` or ``"number"``: the kind of a normalised id array."""
    return "str" if ids.dtype == object else "number"


def _normalise_ids(values, what: str) -> np.ndarray:
    """Turn one column of ids into a numeric or an object-of-str ndarray.

    ``what`` names the column in error messages, e.g. ``"user ids (column 0
    of X)"``.
    """
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else values
    arr = np.asarray(arr)
    if arr.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {what} must be strings or real numbers."
        )
    if arr.dtype.kind == "u":
        # Unsigned ids become int64, so -1 can pad recommend's lists.
        if arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(
                f"{what} hold integers above 2**63 - 1; convert them to str."
            )
        return arr.astype(np.int64)
    if arr.dtype.kind in "ib":
        return arr.astype(np.int64, copy=False) if arr.dtype.kind == "b" else arr
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(
                f"{what} contain NaN or inf; drop or fill those rows before "
                "passing them."
            )
        return arr
    if arr.dtype.kind in "US":
        return arr.astype(str).astype(object)
    if arr.dtype.kind != "O":
        raise TypeError(
            f"{what} have dtype {arr.dtype}; ids must be strings or numbers."
        )
    missing = pd.isna(arr)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"{what} contain NaN, inf or None (first at row {row}); drop or fill "
            "those rows before passing them."
        )
    inferred = pd.api.types.infer_dtype(arr, skipna=False)
    if inferred == "string":
        return arr
    if inferred in ("integer", "floating", "mixed-integer-float", "boolean"):
        numeric = np.asarray(arr.tolist())
        return _normalise_ids(numeric, what)
    if inferred == "empty":
        return arr
    kinds = sorted({type(v).__name__ for v in arr})
    scalars = {"str", "int", "float", "bool"}
    numpy_scalar = {type(v).__name__ for v in arr if isinstance(v, np.generic)}
    odd = [k for k in kinds if k not in scalars and k not in numpy_scalar]
    if odd:
        raise TypeError(
            f"{what} hold {', '.join(odd)} objects; each id must be a string or "
            "a number argument (a hashable scalar)."
        )
    raise ValueError(
        f"{what} mix strings and numbers ({', '.join(kinds)}); convert the "
        "column to one type, e.g. with .astype(str)."
    )


def check_ids(ids, *, name: str = "users") -> np.ndarray:
    """Validate a 1-D collection of raw ids (users or items) for a query.

    Parameters
    ----------
    ids : scalar or array-like of shape (n,)
        Raw ids. A single scalar is treated as a list of one.
    name : str, default="users"
        What the ids are, used in error messages.

    Returns
    -------
    ids : ndarray of shape (n,)
        Numeric ndarray, or object ndarray of str.

    Examples
    --------
    >>> from sk_recsys.data import check_ids
    >>> check_ids(["a", "b"]).tolist()
    ['a', 'b']
    >>> check_ids(7).tolist()
    [7]
    """
    if ids is None:
        raise ValueError(f"{name} is None; pass a list or array of ids.")
    if isinstance(ids, str) or np.isscalar(ids):
        ids = [ids]
    arr = ids.to_numpy() if isinstance(ids, pd.Series | pd.Index) else ids
    arr = np.asarray(arr) if not isinstance(arr, np.ndarray) else arr
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one id per entry), got an array of shape {arr.shape}."
        )
    return _normalise_ids(arr, name)


def _as_frame(X) -> pd.DataFrame | np.ndarray:
    """Return ``X`` as a DataFrame or a 2-D ndarray, rejecting other shapes."""
    if X is None:
        raise ValueError(
            "X is None; pass interactions as rows of (user id, item id, ...)."
        )
    if sp.issparse(X):
        raise ValueError(
            "X is a sparse matrix, but sk_recsys takes interactions as rows "
            "(user id, item id, context...); convert a user-item sparse matrix "
            "with scipy's .tocoo() into columns (row, col)."
        )
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        raise ValueError(
            "X is a pandas Series (1-D), but needs at least 2 columns: user ids "
            "in column 0 and item ids in column 1."
        )
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X, dtype=object)
        except ValueError as exc:
            raise ValueError(
                "X could not be read as a table of rows; pass a DataFrame or a "
                f"2-D array of (user id, item id, ...) rows ({exc})."
            ) from None
    if arr.dtype.kind == "c":
        raise ValueError(
            "Complex data not supported: X must hold ids (strings or real numbers)."
        )
    if arr.ndim != 2:
        raise ValueError(
            f"Expected a 2-D X of interaction rows, got a {arr.ndim}-D array of "
            f"shape {arr.shape}: Reshape your data to (n_interactions, n_columns), "
            "e.g. X.reshape(1, -1) for a single row."
        )
    if arr.dtype == object and not isinstance(X, np.ndarray):
        # Lists of rows keep each column's own type (ints in one, str in the
        # other) when read column by column.
        return pd.DataFrame(list(X)) if len(arr) else pd.DataFrame(arr)
    return arr


def _column(frame, index: int) -> np.ndarray:
    if isinstance(frame, pd.DataFrame):
        return frame.iloc[:, index]
    return frame[:, index]


def get_column(X, key) -> np.ndarray:
    """Return one column of ``X`` by position (int) or, for DataFrames, name.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_interactions, n_columns)
    key : int or str
        Column position, or column name when ``X`` is a DataFrame.

    Returns
    -------
    column : ndarray of shape (n_interactions,)

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_recsys.data import get_column
    >>> X = pd.DataFrame({"u": [1, 2], "i": [3, 4], "t": [10, 20]})
    >>> get_column(X, 2).tolist(), get_column(X, "t").tolist()
    ([10, 20], [10, 20])
    """
    frame = _as_frame(X)
    if isinstance(key, str):
        if not isinstance(frame, pd.DataFrame) or key not in frame.columns:
            raise ValueError(
                f"X has no column named {key!r}; pass the column's position "
                "(an int) or a DataFrame that has it."
            )
        return frame[key].to_numpy()
    if (
        not isinstance(key, int | np.integer)
        or not -frame.shape[1] <= key < frame.shape[1]
    ):
        raise ValueError(
            f"Column {key!r} does not exist: X has {frame.shape[1]} columns; pass "
            "a position between 0 and n_columns - 1."
        )
    col = _column(frame, int(key))
    return col.to_numpy() if isinstance(col, pd.Series) else np.asarray(col)


def _check_y(y, n_rows: int) -> np.ndarray | None:
    if y is None:
        return None
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(
                f"y must be 1-D (one value per interaction), got a DataFrame with "
                f"{y.shape[1]} columns."
            )
        y = y.iloc[:, 0]
    arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it was "
            "flattened with y.ravel().",
            DataConversionWarning,
            stacklevel=4,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(
            f"y must be 1-D (one value per interaction), got shape {arr.shape}."
        )
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported: y must be real numbers.")
    if arr.dtype.kind not in "iufb":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "y must hold numbers (ratings or implicit weights); convert it "
                "with pd.to_numeric or drop the non-numeric rows."
            ) from None
    arr = arr.astype(np.float64, copy=True)
    if len(arr) != n_rows:
        raise ValueError(
            f"X has {n_rows} rows but y has {len(arr)} values; pass one y value "
            "per interaction row."
        )
    if not np.isfinite(arr).all():
        row = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(
            f"y contains NaN or inf (first at row {row}); drop or fill those "
            "rows before passing them."
        )
    return arr


def check_interactions(X, y=None, *, min_rows: int = 1) -> Interactions:
    """Validate interaction rows ``X`` and optional values ``y``.

    Column 0 of ``X`` holds user ids and column 1 item ids, by position,
    whatever the column names; further columns are context that models may
    ignore. Ids are strings or numbers; mixing both within a column is an
    error.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_interactions, >= 2)
        Interaction rows.
    y : array-like of shape (n_interactions,), default=None
        Ratings or implicit weights; ``None`` means implicit feedback.
    min_rows : int, default=1
        Fewest rows accepted; ``fit`` needs at least one.

    Returns
    -------
    interactions : Interactions
        Named tuple ``(users, items, y, n_features)`` of new arrays.

    Raises
    ------
    ValueError
        On a wrong shape, too few columns or rows, NaN/inf, mixed id types
        or a length mismatch between ``X`` and ``y``.

    Examples
    --------
    >>> from sk_recsys.data import check_interactions
    >>> rows = check_interactions([["ann", "tea"], ["bob", "tea"]], [5, 3])
    >>> rows.users.tolist(), rows.items.tolist(), rows.y.tolist()
    (['ann', 'bob'], ['tea', 'tea'], [5.0, 3.0])
    """
    frame = _as_frame(X)
    n_rows, n_cols = frame.shape
    if n_cols < 2:
        raise ValueError(
            f"X has {n_cols} feature(s) (shape=({n_rows}, {n_cols})) while a "
            "minimum of 2 is required: user ids in column 0 and item ids in "
            "column 1."
        )
    if n_rows < min_rows:
        raise ValueError(
            f"X is empty: found {n_rows} interaction rows (shape=({n_rows}, "
            f"{n_cols})) while a minimum of {min_rows} is required."
        )
    ids = []
    for index, who in _ID_COLUMNS.items():
        ids.append(
            _normalise_ids(_column(frame, index), f"{who} ids (column {index} of X)")
        )
    return Interactions(ids[0], ids[1], _check_y(y, n_rows), int(n_cols))


def check_features(features, ids: np.ndarray, *, kind: str) -> pd.DataFrame:
    """Validate side information indexed by raw id against the ids of ``X``.

    Parameters
    ----------
    features : DataFrame
        One row per raw id (the index); numeric, text or image columns.
    ids : ndarray
        The raw ids of that kind found in ``X`` (repeats allowed).
    kind : {"item", "user"}
        Which side the features describe, used in messages.

    Returns
    -------
    features : DataFrame
        The same object, unmodified, once checked.

    Raises
    ------
    ValueError
        If ``features`` is not a DataFrame, has repeated or missing ids, or
        lacks a row for an id present in ``X``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_recsys.data import check_features
    >>> feats = pd.DataFrame({"price": [1.0, 2.0]}, index=["tea", "jam"])
    >>> check_features(feats, np.array(["tea"], dtype=object), kind="item").shape
    (2, 1)
    """
    name = f"{kind}_features"
    if not isinstance(features, pd.DataFrame):
        raise ValueError(
            f"{name} must be a pandas DataFrame indexed by the raw {kind} id, got "
            f"{type(features).__name__}."
        )
    index = _normalise_ids(features.index.to_numpy(), f"the index of {name}")
    if len(ids) and len(index) and _id_kind(index) != _id_kind(ids):
        raise ValueError(
            f"The index of {name} holds {_id_kind(index)} ids but X holds "
            f"{_id_kind(ids)} {kind} ids; use the same id type in both."
        )
    if not features.index.is_unique:
        dup = features.index[features.index.duplicated()][0]
        raise ValueError(
            f"{name} has several rows for {kind} {dup!r}; keep one row per {kind}."
        )
    missing = pd.Index(index).get_indexer(ids) < 0
    if missing.any():
        absent = pd.unique(ids[missing])
        raise ValueError(
            f"{name} has no row for {len(absent)} {kind}(s) of X (e.g. "
            f"{absent[0]!r}); add a row for every {kind} of X."
        )
    return features
