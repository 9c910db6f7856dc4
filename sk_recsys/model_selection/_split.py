"""Splitters of interaction rows that respect users and time.

A random row split (sklearn's ``KFold`` or ``train_test_split``) can leave a
user's every row in the test set, where no model has seen the user, and lets
future interactions train a model that is scored on the past. The splitters
here follow the scikit-learn protocol (``split`` yields sorted ``(train,
test)`` index arrays, ``get_n_splits``), so they work as ``cv=`` in
``GridSearchCV`` and ``cross_validate``, and split along the axes that matter
for recommenders:

- :class:`UserKFold`: k folds within each user, so every test user is also a
  training user;
- :class:`LeaveLastOut`: each user's latest interactions are the test set;
- :class:`TemporalSplit`: one global time cut-off, the future is the test set;
- :func:`train_test_split`: one split by any of these rules, returning the
  data itself.

Rows of ``X`` are ``(user id, item id, context...)``; user ids are read from
column 0 with :func:`sk_recsys.data.check_interactions`. Nothing passed in is
modified, and no step loops over users or rows in Python.
"""

from __future__ import annotations

import numbers
import warnings
from math import ceil

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import _safe_indexing, check_random_state

from ..data import check_interactions, get_column

__all__ = [
    "ColdItemSplit",
    "LeaveLastOut",
    "TemporalSplit",
    "UserHoldout",
    "UserKFold",
    "train_test_split",
]

_STRATEGIES = ("user", "random", "time")


def _check_lengths(n_rows: int, **arrays) -> None:
    """Raise if ``y`` or ``groups`` does not have one entry per row of ``X``."""
    for name, values in arrays.items():
        if values is not None and len(values) != n_rows:
            raise ValueError(
                f"X has {n_rows} rows but {name} has {len(values)} values; pass "
                "one value per interaction row."
            )


def _user_codes(X, y=None, groups=None) -> np.ndarray:
    """Validate ``X`` and return one int code per row for its user (column 0)."""
    users = check_interactions(X).users
    _check_lengths(len(users), y=y, groups=groups)
    return pd.factorize(users)[0]


def _warn_groups(splitter, groups) -> None:
    if groups is not None:
        warnings.warn(
            f"The groups parameter is ignored by {type(splitter).__name__}",
            UserWarning,
            stacklevel=3,
        )


def _check_time_column(time_column) -> None:
    if time_column is not None and (
        isinstance(time_column, bool)
        or not isinstance(time_column, numbers.Integral | str)
    ):
        raise ValueError(
            f"time_column must be a column position (int), a DataFrame column "
            f"name (str) or None for row order, got {time_column!r}."
        )


def _time_ranks(X, time_column, n_rows: int, *, strict: bool = False) -> np.ndarray:
    """Return dense int ranks of the time column (equal times share a rank).

    ``None`` ranks rows by position. Strings that all parse as numbers are
    compared as numbers, because a NumPy array mixing str ids with int
    timestamps stores everything as str; other strings compare as strings,
    which orders ISO-8601 dates correctly. ``strict`` (sequential models)
    refuses strings that parse neither as numbers nor as dates, and
    booleans.
    """
    if time_column is None:
        return np.arange(n_rows)
    try:
        times = get_column(X, time_column)
    except ValueError:
        raise ValueError(
            f"time_column={time_column!r} is not a column of X; pass the position "
            "(int) or, for a DataFrame, the name of its time column, or None to "
            "order rows by position."
        ) from None
    if pd.isna(times).any():
        raise ValueError(
            f"The time column {time_column!r} contains missing values (NaN, NaT "
            "or None); drop or fill those rows before splitting."
        )
    if times.dtype.kind in "OUS":
        inferred = pd.api.types.infer_dtype(times, skipna=False)
        if inferred in ("mixed", "mixed-integer"):
            raise ValueError(
                f"The time column {time_column!r} mixes values that cannot be "
                "ordered (e.g. strings and numbers); convert it to one type."
            )
        if inferred in ("string", "bytes"):
            try:
                times = np.asarray(pd.to_numeric(times))
            except (ValueError, TypeError):
                if strict:
                    times = _parse_dates(times, time_column)
    if strict and (
        times.dtype.kind == "b"
        or (
            times.dtype.kind in "OUS"
            and pd.api.types.infer_dtype(times, skipna=False) not in _ORDERED_TYPES
        )
    ):
        raise ValueError(
            f"The time column {time_column!r} holds "
            f"{pd.api.types.infer_dtype(times, skipna=False)} values; a sequence "
            "is ordered by numbers (e.g. Unix seconds) or datetimes."
        )
    return pd.factorize(times, sort=True)[0]


# What pandas infers for an object column that orders a sequence.
_ORDERED_TYPES = (
    "integer",
    "floating",
    "decimal",
    "mixed-integer-float",
    "datetime",
    "datetime64",
    "date",
)


def _parse_dates(times: np.ndarray, time_column) -> np.ndarray:
    try:
        return np.asarray(pd.to_datetime(times, format="ISO8601"))
    except (ValueError, TypeError):
        raise ValueError(
            f"The time column {time_column!r} holds strings that are neither "
            "numbers nor ISO-8601 dates, so they give no order; convert it to "
            "numbers or datetimes."
        ) from None


def _within_user_rank(codes: np.ndarray, key: np.ndarray):
    """Rank of each row among its user's rows by ascending ``key``.

    Ties in ``key`` are broken by row order. Returns the ranks and each row's
    user row count.
    """
    n_rows = len(codes)
    order = np.lexsort((np.arange(n_rows), key, codes))
    counts = np.bincount(codes)
    starts = np.cumsum(counts) - counts
    rank = np.empty(n_rows, dtype=np.int64)
    rank[order] = np.arange(n_rows) - starts[codes[order]]
    return rank, counts[codes]


def _check_test_size(test_size) -> None:
    valid = (
        not isinstance(test_size, bool)
        and isinstance(test_size, numbers.Real)
        and (
            (isinstance(test_size, numbers.Integral) and test_size >= 1)
            or (not isinstance(test_size, numbers.Integral) and 0 < test_size < 1)
        )
    )
    if not valid:
        raise ValueError(
            f"test_size must be a float in (0, 1) (a fraction of the rows) or an "
            f"int >= 1 (a number of rows), got {test_size!r}."
        )


def _n_test_rows(test_size, n_rows: int) -> int:
    """Number of test rows for a global split: ``ceil`` of a fraction, as sklearn."""
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    else:
        n_test = ceil(test_size * n_rows)
    if n_test >= n_rows:
        raise ValueError(
            f"test_size={test_size!r} puts {n_test} of the {n_rows} rows of X in "
            "the test set, leaving none for training; lower test_size."
        )
    return n_test


def _temporal_test_mask(X, n_rows: int, test_size, time_column) -> np.ndarray:
    """Mark the latest ``test_size`` rows by (time, position) as test rows."""
    n_test = _n_test_rows(test_size, n_rows)
    times = _time_ranks(X, time_column, n_rows)
    order = np.lexsort((np.arange(n_rows), times))
    test_mask = np.zeros(n_rows, dtype=bool)
    test_mask[order[n_rows - n_test :]] = True
    return test_mask


def _user_holdout_mask(codes: np.ndarray, test_size, random_state) -> np.ndarray:
    """Hold out a random ``test_size`` share (or number) of each user's rows.

    ``round(test_size * count)`` rows (halves up) or ``test_size`` rows for an
    int, capped at ``count - 1`` so that every user keeps a training row.
    """
    rng = check_random_state(random_state)
    rank, counts = _within_user_rank(codes, rng.random_sample(len(codes)))
    if isinstance(test_size, numbers.Integral):
        wanted = np.full(len(codes), int(test_size))
    else:
        wanted = np.floor(test_size * counts + 0.5).astype(np.int64)
    return rank < np.minimum(wanted, counts - 1)


def _split_from_mask(test_mask: np.ndarray):
    indices = np.arange(len(test_mask))
    return indices[~test_mask], indices[test_mask]


class UserKFold(BaseCrossValidator):
    """K-fold cross-validation within users: every test user also trains.

    Each user's rows are spread over the ``n_splits`` folds, so in every
    split a user of the test set has rows in the training set too. Rows are
    laid out user after user (users and their rows in random order if
    ``shuffle``, else in order of appearance) and dealt to the folds in turn,
    so a user's rows land in different folds and the test folds differ in
    size by at most one row, even when users have fewer rows than folds.

    A user with a single row is never put in a test set, since that fold's
    training set would then lack the user: such rows are in the training set
    of every split.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=True
        Whether to deal each user's rows to the folds in random order (and
        visit users in random order). If False, rows are dealt in row order.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling when ``shuffle`` is True: an int gives the same
        folds on every call to ``split``. Must be None when ``shuffle`` is
        False, as in :class:`sklearn.model_selection.KFold`.

    See Also
    --------
    LeaveLastOut : Each user's latest rows are the test set.
    TemporalSplit : A global time cut-off.

    Examples
    --------
    >>> from sk_recsys.model_selection import UserKFold
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "oat"],
    ...      ["cid", "jam"]]
    >>> cv = UserKFold(n_splits=2, shuffle=False)
    >>> cv
    UserKFold(n_splits=2, random_state=None, shuffle=False)
    >>> for train, test in cv.split(X):
    ...     print(train.tolist(), test.tolist())
    [1, 3, 4] [0, 2]
    [0, 2, 4] [1, 3]
    >>> folds = list(UserKFold(n_splits=2, random_state=0).split(X))
    >>> sorted(i for _, test in folds for i in test.tolist())
    [0, 1, 2, 3]
    """

    def __init__(self, n_splits=5, shuffle=True, random_state=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral):
            raise ValueError(
                f"n_splits must be an int of at least 2, got {n_splits!r}."
            )
        if n_splits < 2:
            raise ValueError(
                f"UserKFold needs at least two folds (one to test, one to "
                f"train); set n_splits=2 or more, got n_splits={n_splits}."
            )
        if not isinstance(shuffle, bool | np.bool_):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False; "
                "leave random_state to its default (None), or set shuffle=True."
            )
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        """Generate indices to split interactions into training and test set.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            Interaction rows; column 0 holds the user ids.
        y : array-like of shape (n_interactions,), default=None
            Ignored apart from its length; exists for API compatibility.
        groups : array-like of shape (n_interactions,), default=None
            Ignored (with a warning when given); exists for API compatibility.

        Yields
        ------
        train : ndarray of int
            Sorted training row indices for that fold.
        test : ndarray of int
            Sorted test row indices for that fold.

        Raises
        ------
        ValueError
            If some fold's test set would be empty, i.e. fewer than
            ``n_splits`` rows belong to users with at least two rows.

        Examples
        --------
        >>> from sk_recsys.model_selection import UserKFold
        >>> X = [[1, 10], [1, 11], [1, 12], [2, 10], [2, 12]]
        >>> for train, test in UserKFold(2, shuffle=False).split(X):
        ...     print(train.tolist(), test.tolist())
        [1, 3] [0, 2, 4]
        [0, 2, 4] [1, 3]
        """
        _warn_groups(self, groups)
        codes = _user_codes(X, y, groups)
        n_rows = len(codes)
        counts = np.bincount(codes)
        testable = counts[codes] >= 2
        n_testable = int(testable.sum())
        if n_testable < self.n_splits:
            raise ValueError(
                f"UserKFold(n_splits={self.n_splits}) would leave a test fold "
                f"empty: only {n_testable} rows belong to users with at least 2 "
                "rows (single-row users are never tested); lower n_splits."
            )
        if self.shuffle:
            rng = check_random_state(self.random_state)
            user_key = rng.permutation(len(counts))[codes]
            row_key = rng.random_sample(n_rows)
        else:
            user_key, row_key = codes, np.arange(n_rows)
        order = np.lexsort((np.arange(n_rows), row_key, user_key))
        order = order[testable[order]]
        fold = np.full(n_rows, -1, dtype=np.int64)
        fold[order] = np.arange(n_testable) % self.n_splits
        for k in range(self.n_splits):
            yield _split_from_mask(fold == k)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object, default=None
            Always ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
            Number of folds.

        Examples
        --------
        >>> from sk_recsys.model_selection import UserKFold
        >>> UserKFold(3).get_n_splits()
        3
        """
        return self.n_splits


class LeaveLastOut(BaseCrossValidator):
    """Hold out each user's latest interactions: one split.

    For every user, the ``n`` latest rows by ``time_column`` form the test
    set; the rest train. A user always keeps at least one training row, so a
    user with ``count <= n`` rows contributes ``count - 1`` test rows and a
    single-row user none. Rows with equal times are ordered by position: the
    later row counts as the later interaction.

    Parameters
    ----------
    n : int, default=1
        Number of latest rows per user to hold out, at least 1.
    time_column : int, str or None, default=2
        Column of ``X`` holding the time: a position, a column name (for a
        DataFrame), or None to use row order (later rows are later). Numbers,
        datetimes and strings are accepted; strings that all parse as numbers
        are compared as numbers.

    See Also
    --------
    UserKFold : K folds within each user.
    TemporalSplit : A global time cut-off.

    Examples
    --------
    >>> from sk_recsys.model_selection import LeaveLastOut
    >>> X = [["ann", "tea", 3], ["ann", "jam", 1], ["ann", "oat", 2],
    ...      ["bob", "tea", 5], ["bob", "jam", 4], ["cid", "oat", 9]]
    >>> cv = LeaveLastOut(n=1)
    >>> cv
    LeaveLastOut(n=1, time_column=2)
    >>> train, test = next(cv.split(X))
    >>> train.tolist(), test.tolist()
    ([1, 2, 4, 5], [0, 3])
    """

    def __init__(self, n=1, time_column=2):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(
                f"n is the number of latest rows held out per user and must be "
                f"an int of at least 1, got {n!r}."
            )
        _check_time_column(time_column)
        self.n = n
        self.time_column = time_column

    def split(self, X, y=None, groups=None):
        """Generate the one split: each user's latest rows in the test set.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            Interaction rows; column 0 holds the user ids.
        y : array-like of shape (n_interactions,), default=None
            Ignored apart from its length; exists for API compatibility.
        groups : array-like of shape (n_interactions,), default=None
            Ignored (with a warning when given); exists for API compatibility.

        Yields
        ------
        train : ndarray of int
            Sorted training row indices.
        test : ndarray of int
            Sorted test row indices.

        Raises
        ------
        ValueError
            If ``time_column`` is not a column of ``X`` or holds missing or
            unorderable values, or if no user has two rows (empty test set).

        Examples
        --------
        >>> from sk_recsys.model_selection import LeaveLastOut
        >>> X = [[1, 10], [1, 11], [1, 12], [2, 10]]
        >>> train, test = next(LeaveLastOut(n=2, time_column=None).split(X))
        >>> train.tolist(), test.tolist()
        ([0, 3], [1, 2])
        """
        _warn_groups(self, groups)
        codes = _user_codes(X, y, groups)
        times = _time_ranks(X, self.time_column, len(codes))
        rank, counts = _within_user_rank(codes, times)
        test_mask = (rank >= 1) & (rank >= counts - self.n)
        if not test_mask.any():
            raise ValueError(
                "LeaveLastOut has no row to test on: every user has a single row, "
                "which must stay in training; pass users with at least 2 rows."
            )
        yield _split_from_mask(test_mask)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, always 1.

        Parameters
        ----------
        X, y, groups : object, default=None
            Always ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
            1.

        Examples
        --------
        >>> from sk_recsys.model_selection import LeaveLastOut
        >>> LeaveLastOut().get_n_splits()
        1
        """
        return 1


class TemporalSplit(BaseCrossValidator):
    """Split all interactions at one point in time: the latest rows test.

    The latest ``test_size`` rows overall (a fraction, or a number of rows)
    form the test set, so every test row is at or after every training row
    in time. Rows are ordered by ``time_column``, then by position; at the
    cut-off time, rows with the same time are divided by position (later rows
    to the test set), which gives exactly the requested test size,
    deterministically. Such a tie may put one timestamp on both sides.

    Users (and items) first seen after the cut-off appear only in the test
    set: they are cold-start users for the model, which is what deployment
    meets, and scorers treat them as unknown users.

    Parameters
    ----------
    test_size : float or int, default=0.2
        A float in (0, 1) is the fraction of rows in the test set, rounded up
        (as :func:`sklearn.model_selection.train_test_split`); an int >= 1 is
        the number of test rows. At least one row must remain for training.
    time_column : int, str or None, default=2
        Column of ``X`` holding the time: a position, a column name (for a
        DataFrame), or None to use row order (later rows are later).

    See Also
    --------
    LeaveLastOut : Each user's latest rows are the test set.
    UserKFold : K folds within each user.

    Examples
    --------
    >>> from sk_recsys.model_selection import TemporalSplit
    >>> X = [["ann", "tea", 3], ["ann", "jam", 1], ["bob", "oat", 2],
    ...      ["bob", "tea", 5], ["cid", "jam", 4]]
    >>> cv = TemporalSplit(test_size=0.4)
    >>> cv
    TemporalSplit(test_size=0.4, time_column=2)
    >>> train, test = next(cv.split(X))
    >>> train.tolist(), test.tolist()
    ([0, 1, 2], [3, 4])
    """

    def __init__(self, test_size=0.2, time_column=2):
        _check_test_size(test_size)
        _check_time_column(time_column)
        self.test_size = test_size
        self.time_column = time_column

    def split(self, X, y=None, groups=None):
        """Generate the one split: the latest rows overall in the test set.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            Interaction rows; column 0 holds the user ids.
        y : array-like of shape (n_interactions,), default=None
            Ignored apart from its length; exists for API compatibility.
        groups : array-like of shape (n_interactions,), default=None
            Ignored (with a warning when given); exists for API compatibility.

        Yields
        ------
        train : ndarray of int
            Sorted training row indices.
        test : ndarray of int
            Sorted test row indices.

        Raises
        ------
        ValueError
            If ``time_column`` is not a usable column of ``X``, or if
            ``test_size`` leaves no training row.

        Examples
        --------
        >>> from sk_recsys.model_selection import TemporalSplit
        >>> X = [[1, 10, 5], [2, 11, 7], [1, 12, 7], [2, 10, 6]]
        >>> train, test = next(TemporalSplit(test_size=1).split(X))
        >>> train.tolist(), test.tolist()
        ([0, 1, 3], [2])
        """
        _warn_groups(self, groups)
        n_rows = len(_user_codes(X, y, groups))
        yield _split_from_mask(
            _temporal_test_mask(X, n_rows, self.test_size, self.time_column)
        )

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, always 1.

        Parameters
        ----------
        X, y, groups : object, default=None
            Always ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
            1.

        Examples
        --------
        >>> from sk_recsys.model_selection import TemporalSplit
        >>> TemporalSplit().get_n_splits()
        1
        """
        return 1


def train_test_split(X, y=None, *, test_size=0.2, strategy="user", random_state=None):
    """Split interactions (and ratings) into one training and one test set.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_interactions, >= 2)
        Interaction rows ``(user id, item id, context...)``.
    y : array-like of shape (n_interactions,), default=None
        Ratings or implicit weights, split alongside ``X``.
    test_size : float or int, default=0.2
        A float in (0, 1) is a fraction of rows; an int >= 1 a number of rows
        (per user for ``strategy="user"``, overall otherwise).
    strategy : {"user", "random", "time"}, default="user"
        How rows are chosen for the test set:

        - ``"user"``: within each user, a random ``test_size`` share of the
          user's rows: ``round(test_size * count)`` rows (halves round up),
          or ``test_size`` rows for an int, in both cases capped at
          ``count - 1`` so the user keeps a training row. A user with a
          single row, or too few rows for the share to round to one, stays
          wholly in training.
        - ``"random"``: a random ``test_size`` share of all rows, the rule of
          :func:`sklearn.model_selection.train_test_split` (a fraction is
          rounded up); users may end up only in the test set.
        - ``"time"``: the latest rows overall by column 2 of ``X`` (the rule
          of :class:`TemporalSplit` with its default ``time_column=2``; use
          that class directly for another time column).
    random_state : int, RandomState instance or None, default=None
        Seeds the random choice of the ``"user"`` and ``"random"`` strategies;
        an int gives the same split every call. Unused by ``"time"``.

    Returns
    -------
    X_train, X_test : same kind as X
        The training and test rows, each in their original order, indexed
        with ``sklearn.utils._safe_indexing``: a DataFrame stays a DataFrame
        with its original index, an ndarray stays an ndarray, a list gives a
        list.
    y_train, y_test : same kind as y
        Only when ``y`` is given: the values of those rows.

    Raises
    ------
    ValueError
        On an unknown ``strategy``, an invalid ``test_size``, a ``test_size``
        that leaves no training row, or a split whose test set is empty.

    See Also
    --------
    UserKFold, LeaveLastOut, TemporalSplit : The cross-validation splitters.

    Examples
    --------
    >>> from sk_recsys.model_selection import train_test_split
    >>> X = [["ann", "tea", 1], ["ann", "jam", 2], ["ann", "oat", 3],
    ...      ["bob", "tea", 4], ["bob", "oat", 5], ["cid", "jam", 6]]
    >>> y = [5, 3, 4, 1, 2, 5]
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, test_size=0.5, random_state=0)
    >>> len(X_train), len(X_test), len(y_test)
    (3, 3, 3)
    >>> sorted(row[0] for row in X_test)  # ann: round(1.5) = 2, bob: 1, cid: 0
    ['ann', 'ann', 'bob']
    >>> sorted(row[0] for row in X_train)
    ['ann', 'bob', 'cid']
    >>> X_train, X_test = train_test_split(X, test_size=2, strategy="time")
    >>> X_test
    [['bob', 'oat', 5], ['cid', 'jam', 6]]
    """
    if not isinstance(strategy, str) or strategy not in _STRATEGIES:
        raise ValueError(
            f"strategy={strategy!r} is not a valid strategy; use one of 'user', "
            "'random' or 'time'."
        )
    _check_test_size(test_size)
    codes = _user_codes(X, y)
    n_rows = len(codes)
    if strategy == "time":
        test_mask = _temporal_test_mask(X, n_rows, test_size, 2)
    elif strategy == "random":
        n_test = _n_test_rows(test_size, n_rows)
        rng = check_random_state(random_state)
        test_mask = np.zeros(n_rows, dtype=bool)
        test_mask[rng.permutation(n_rows)[:n_test]] = True
    else:
        test_mask = _user_holdout_mask(codes, test_size, random_state)
        if not test_mask.any():
            raise ValueError(
                f"strategy='user' with test_size={test_size!r} holds out no row: "
                "no user has enough rows for a share to round to one while "
                "keeping a training row; raise test_size or use strategy='random'."
            )
    train, test = _split_from_mask(test_mask)
    result = [_safe_indexing(X, train), _safe_indexing(X, test)]
    if y is not None:
        result += [_safe_indexing(y, train), _safe_indexing(y, test)]
    return tuple(result)


class UserHoldout:
    """A user-aware validation split for the neural models' ``train_split``.

    Holds out a random ``valid_size`` share of each user's rows (every user
    keeps a training row), so that the validation rows are items each user
    is known to like and that the model did not train on. A random row split
    would let a user's training rows mask their validation items in a
    ranking metric; this one keeps the two apart. The held-out rows are left
    out of the model's ``interactions_`` as well.

    Parameters
    ----------
    valid_size : float or int, default=0.1
        Share of each user's rows (float in (0, 1)) or number of rows per
        user (int >= 1) held out, rounded as in :func:`train_test_split`.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of rows.

    Examples
    --------
    >>> from sk_recsys.model_selection import UserHoldout
    >>> import numpy as np
    >>> holdout = UserHoldout(0.5, random_state=0)
    >>> holdout.mask(np.array([0, 0, 0, 0, 1])).sum()  # 2 of user 0, none of 1
    np.int64(2)
    """

    def __init__(self, valid_size=0.1, random_state=None):
        self.valid_size = valid_size
        self.random_state = random_state

    def mask(self, user_codes: np.ndarray) -> np.ndarray:
        """Boolean mask of the held-out rows, given each row's user index.

        Parameters
        ----------
        user_codes : ndarray of int of shape (n_rows,)

        Returns
        -------
        held_out : ndarray of bool of shape (n_rows,)
        """
        try:
            _check_test_size(self.valid_size)
        except ValueError:
            raise ValueError(
                "valid_size must be a float in (0, 1) (a share of each user's rows) "
                f"or an int >= 1 (rows per user), got {self.valid_size!r}."
            ) from None
        return _user_holdout_mask(
            np.asarray(user_codes), self.valid_size, self.random_state
        )

    def __repr__(self) -> str:
        return (
            f"UserHoldout(valid_size={self.valid_size!r}, "
            f"random_state={self.random_state!r})"
        )


class ColdItemSplit(BaseCrossValidator):
    """Hold out every interaction of a random sample of items: one split.

    The test items never appear in training, so the split measures how well
    a model recommends new items from their features (new-item cold start).
    Pass the features of all items (test items included) to ``fit`` as
    ``item_features``: the held-out items then belong to the catalog without
    interactions, and a content model can rank them. Users whose every item
    was held out appear only in the test set (they are cold users too).

    Parameters
    ----------
    test_size : float or int, default=0.1
        Share of the distinct items (float in (0, 1), rounded up) or number
        of items (int >= 1) held out.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of items.

    Examples
    --------
    >>> from sk_recsys.model_selection import ColdItemSplit
    >>> X = [["ann", "tea"], ["bob", "tea"], ["ann", "jam"], ["cid", "pie"]]
    >>> train, test = next(ColdItemSplit(1, random_state=0).split(X))
    >>> sorted({X[i][1] for i in test}) in (["tea"], ["jam"], ["pie"])
    True
    >>> {X[i][1] for i in train} & {X[i][1] for i in test}
    set()
    """

    def __init__(self, test_size=0.1, random_state=None):
        _check_test_size(test_size)
        self.test_size = test_size
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        """Generate the one split: the rows of the sampled items are the test set.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            Interaction rows; column 1 holds the item ids.
        y, groups : ignored
            Exist for API compatibility (``groups`` with a warning).

        Yields
        ------
        train, test : ndarray of int
            Sorted row indices.
        """
        _warn_groups(self, groups)
        rows = check_interactions(X)
        _check_lengths(len(rows.items), y=y)
        codes, distinct = pd.factorize(rows.items)
        n_test = _n_test_rows(self.test_size, len(distinct))
        rng = check_random_state(self.random_state)
        held = np.zeros(len(distinct), dtype=bool)
        held[rng.permutation(len(distinct))[:n_test]] = True
        yield _split_from_mask(held[codes])

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return 1: there is one split.

        Returns
        -------
        n_splits : int
        """
        return 1
