"""Columns a ranker reads: side-information tables, context, times."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..data import get_column
from ..data._validation import _as_frame

# A str column with more distinct values than this is free text (a title,
# a zip code), not a category; it is also the most categories scikit-learn's
# histogram gradient boosting accepts per feature (max_bins).
MAX_CATEGORIES = 255


def tabular_column(values) -> pd.Series | None:
    """A column a tabular ranker can read, or None (text, images).

    Booleans and numbers become float64; a pandas category, or strings with
    at most :data:`MAX_CATEGORIES` distinct values that repeat (fewer
    distinct values than half the rows), become a pandas category
    (``HistGradientBoostingClassifier`` reads it as categorical).
    """
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    series = series.reset_index(drop=True)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return series.astype(np.float64)
    if isinstance(dtype, pd.CategoricalDtype):
        if len(dtype.categories) > MAX_CATEGORIES:
            return None
        return series
    if pd.api.types.is_string_dtype(dtype) or dtype.kind == "O":
        if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
            return None  # images, mixed objects
        distinct = series.nunique()
        # Values that rarely repeat (titles, names) identify rows: no category.
        if distinct > MAX_CATEGORIES or distinct > len(series) / 2:
            return None
        return series.astype("category")
    return None


def side_table(features, ids: np.ndarray, prefix: str) -> pd.DataFrame | None:
    """The usable columns of a side-information frame, one row per id.

    Row ``j`` describes ``ids[j]``; ids without a row get missing values.
    """
    if features is None:
        return None
    aligned = features.reindex(pd.Index(ids, dtype=features.index.dtype))
    columns = {}
    for name in features.columns:
        column = tabular_column(aligned[name])
        if column is not None:
            columns[f"{prefix}{name}"] = column
    return pd.DataFrame(columns) if columns else None


def time_values(X, time_column) -> np.ndarray | None:
    """The time column as float64 seconds (or its numbers), None if absent."""
    if time_column is None:
        return None
    X = _as_frame(X)
    n_columns = X.shape[1]
    if isinstance(time_column, numbers.Integral) and time_column >= n_columns:
        return None
    if isinstance(time_column, str) and time_column not in getattr(X, "columns", ()):
        return None
    values = get_column(X, time_column)
    if pd.isna(values).any():
        raise ValueError(
            f"The time column {time_column!r} contains missing values; drop or "
            "fill those rows, or pass time_column=None."
        )
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64) / 1e9
    try:
        return np.asarray(pd.to_numeric(values), dtype=np.float64)
    except (ValueError, TypeError):
        pass
    try:
        parsed = pd.to_datetime(values, format="ISO8601")
    except (ValueError, TypeError):
        raise ValueError(
            f"The time column {time_column!r} holds values that are neither "
            "numbers nor datetimes; convert it, or pass time_column=None."
        ) from None
    return np.asarray(parsed.astype("datetime64[ns]").astype(np.int64)) / 1e9


def context_columns(X, time_column) -> dict:
    """The context columns of ``X`` (not user, item or time), by name."""
    frame = _as_frame(X)
    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    skip = {0, 1}
    names = list(frame.columns)
    if time_column is not None:
        position = (
            time_column
            if isinstance(time_column, numbers.Integral)
            else (names.index(time_column) if time_column in names else None)
        )
        skip.add(position)
    return {
        str(name): frame.iloc[:, position].to_numpy()
        for position, name in enumerate(names)
        if position not in skip
    }


def last_per_user(codes: np.ndarray, times, n_users: int) -> np.ndarray:
    """Row of each user's latest row (by time, then position); -1 if none."""
    order_key = np.arange(len(codes)) if times is None else times
    order = np.lexsort((np.arange(len(codes)), order_key, codes))
    last = np.full(n_users, -1, dtype=np.int64)
    if len(order):
        ends = np.r_[codes[order][1:] != codes[order][:-1], True]
        last[codes[order][ends]] = order[ends]
    return last
