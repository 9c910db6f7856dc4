"""Tests of the interaction splitters in sk_recsys.model_selection."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, cross_validate

from sk_recsys.model_selection import (
    LeaveLastOut,
    TemporalSplit,
    UserKFold,
    train_test_split,
)


def random_interactions(n_users=40, max_rows=12, seed=0, n_single=5):
    """Rows (user, item, time) with varied per-user counts and some 1-row users."""
    rng = np.random.default_rng(seed)
    counts = np.concatenate([rng.integers(2, max_rows, n_users), np.ones(n_single)])
    users = np.repeat(np.arange(len(counts)), counts.astype(int))
    rng.shuffle(users)
    items = rng.integers(0, 30, len(users))
    times = rng.integers(0, 50, len(users))
    return np.column_stack([users, items, times])


def check_user_folds(X, folds):
    """Assert the UserKFold guarantees; return the test fold sizes."""
    users = np.asarray(X)[:, 0] if not isinstance(X, pd.DataFrame) else X.iloc[:, 0]
    users = np.asarray(users)
    n_rows = len(users)
    uniq, counts = np.unique(users, return_counts=True)
    multi = np.isin(users, uniq[counts >= 2])
    times_tested = np.zeros(n_rows, dtype=int)
    for train, test in folds:
        assert train.dtype.kind == "i" and test.dtype.kind == "i"
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
        assert len(np.intersect1d(train, test)) == 0
        assert len(train) + len(test) == n_rows
        assert set(users[test]) <= set(users[train])
        times_tested[test] += 1
    np.testing.assert_array_equal(times_tested[multi], 1)
    np.testing.assert_array_equal(times_tested[~multi], 0)
    return [len(test) for _, test in folds]


class RowCounter(BaseEstimator):
    """Dummy estimator: learns nothing, scores the number of rows it is given."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        return float(len(X))


# UserKFold


def test_user_kfold_partitions_rows_and_keeps_test_users_in_train():
    X = random_interactions()
    folds = list(UserKFold(5, random_state=0).split(X))
    assert len(folds) == 5
    sizes = check_user_folds(X, folds)
    assert max(sizes) - min(sizes) <= 1


def test_user_kfold_balances_folds_when_users_have_few_rows():
    # 30 users with 2 rows each and 4 folds: per-user randomness alone would
    # leave folds uneven; the folds still differ by at most one row.
    X = [[u, i] for u in range(30) for i in range(2)]
    folds = list(UserKFold(4, random_state=1).split(X))
    sizes = check_user_folds(X, folds)
    assert sum(sizes) == 60
    assert max(sizes) - min(sizes) <= 1


def test_user_kfold_single_row_users_always_train():
    X = [["a", 1], ["a", 2], ["b", 1], ["b", 3], ["c", 4]]
    for train, test in UserKFold(2, random_state=0).split(X):
        assert 4 in train
        assert 4 not in test


def test_user_kfold_is_deterministic_with_random_state_and_varies_with_seed():
    X = random_interactions(seed=3)
    first = list(UserKFold(3, random_state=7).split(X))
    again = list(UserKFold(3, random_state=7).split(X))
    other = list(UserKFold(3, random_state=8).split(X))
    for (tr1, te1), (tr2, te2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(tr1, tr2)
        np.testing.assert_array_equal(te1, te2)
    assert any(
        not np.array_equal(te1, te2)
        for (_, te1), (_, te2) in zip(first, other, strict=True)
    )


def test_user_kfold_split_twice_gives_the_same_folds():
    X = random_interactions(seed=4)
    cv = UserKFold(3, random_state=0)
    first, second = list(cv.split(X)), list(cv.split(X))
    for (tr1, te1), (tr2, te2) in zip(first, second, strict=True):
        np.testing.assert_array_equal(tr1, tr2)
        np.testing.assert_array_equal(te1, te2)


def test_user_kfold_string_ids_and_input_types_agree():
    X = random_interactions(seed=5)
    names = np.array([f"user{u}" for u in X[:, 0]], dtype=object)
    frame = pd.DataFrame({"user": names, "item": X[:, 1], "t": X[:, 2]})
    frame.index = frame.index * 10 + 3
    as_array = frame.to_numpy()
    as_list = frame.values.tolist()
    results = [
        list(UserKFold(4, random_state=2).split(data))
        for data in (frame, as_array, as_list)
    ]
    check_user_folds(as_array, results[0])
    for other in results[1:]:
        for (tr1, te1), (tr2, te2) in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(tr1, tr2)
            np.testing.assert_array_equal(te1, te2)


def test_user_kfold_without_shuffle_deals_rows_in_order():
    X = [[1, 10], [1, 11], [1, 12], [2, 10], [2, 12]]
    folds = [
        (tr.tolist(), te.tolist()) for tr, te in UserKFold(2, shuffle=False).split(X)
    ]
    assert folds == [([1, 3], [0, 2, 4]), ([0, 2, 4], [1, 3])]


def test_user_kfold_parameters_and_repr():
    cv = UserKFold(3, random_state=0)
    assert cv.get_n_splits() == 3
    assert repr(cv) == "UserKFold(n_splits=3, random_state=0, shuffle=True)"
    with pytest.raises(ValueError, match="n_splits=2 or more"):
        UserKFold(1)
    with pytest.raises(ValueError, match="n_splits must be an int"):
        UserKFold(2.5)
    with pytest.raises(ValueError, match="random_state has no effect"):
        UserKFold(3, shuffle=False, random_state=0)


def test_user_kfold_too_few_testable_rows_raises():
    X = [["a", 1], ["a", 2], ["b", 1], ["c", 2]]
    with pytest.raises(ValueError, match="test fold empty"):
        list(UserKFold(3, random_state=0).split(X))
    # Two testable rows are enough for two folds.
    assert len(list(UserKFold(2, random_state=0).split(X))) == 2


def test_user_kfold_checks_y_length_and_warns_on_groups():
    X = random_interactions(seed=6)
    with pytest.raises(ValueError, match="y has 3 values"):
        list(UserKFold(3, random_state=0).split(X, y=[1, 2, 3]))
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        list(UserKFold(3, random_state=0).split(X, groups=np.zeros(len(X))))


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(1, 9), min_size=1, max_size=25),
    n_splits=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    shuffle=st.booleans(),
)
def test_user_kfold_property_partition_and_test_users_train(
    counts, n_splits, seed, shuffle
):
    users = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(users)
    X = np.column_stack([users, np.arange(len(users))])
    n_testable = sum(c for c in counts if c >= 2)
    cv = UserKFold(n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    if n_testable < n_splits:
        with pytest.raises(ValueError, match="test fold empty"):
            list(cv.split(X))
        return
    folds = list(cv.split(X))
    assert len(folds) == n_splits
    sizes = check_user_folds(X, folds)
    assert min(sizes) >= 1
    assert max(sizes) - min(sizes) <= 1


def test_user_kfold_in_cross_validate_and_grid_search():
    X = random_interactions(seed=7)
    result = cross_validate(RowCounter(), X, cv=UserKFold(3, random_state=0))
    assert len(result["test_score"]) == 3
    n_single = 5
    assert result["test_score"].sum() == len(X) - n_single
    search = GridSearchCV(
        RowCounter(), {"alpha": [1.0, 2.0]}, cv=UserKFold(3, random_state=0)
    )
    search.fit(X)
    assert search.n_splits_ == 3


# LeaveLastOut


def test_leave_last_out_picks_latest_rows_with_ties_by_row_order():
    X = [
        ["ann", "a", 5],  # 0
        ["ann", "b", 9],  # 1 latest for ann (tied with row 3, earlier row)
        ["bob", "a", 1],  # 2
        ["ann", "c", 9],  # 3 latest for ann: tie broken by row order
        ["bob", "b", 2],  # 4 latest for bob
        ["cid", "a", 7],  # 5 single row: stays in training
    ]
    train, test = next(LeaveLastOut().split(X))
    assert test.tolist() == [3, 4]
    assert train.tolist() == [0, 1, 2, 5]
    train, test = next(LeaveLastOut(n=2).split(X))
    # ann: two latest; bob has 2 rows, so keeps one for training.
    assert test.tolist() == [1, 3, 4]
    assert train.tolist() == [0, 2, 5]


def test_leave_last_out_large_n_keeps_one_training_row_per_user():
    X = [[u, i, i] for u in range(4) for i in range(u + 1)]
    train, test = next(LeaveLastOut(n=10).split(X))
    users = np.array(X)[:, 0]
    assert sorted(users[train].tolist()) == [0, 1, 2, 3]
    assert len(test) == sum(range(4))


def test_leave_last_out_time_column_by_name_and_row_order():
    frame = pd.DataFrame(
        {"u": [1, 1, 1, 2, 2], "i": [1, 2, 3, 1, 2], "when": [3, 1, 2, 0, 4]},
        index=list("abcde"),
    )
    _, test = next(LeaveLastOut(time_column="when").split(frame))
    assert test.tolist() == [0, 4]
    _, test = next(LeaveLastOut(time_column=None).split(frame))
    assert test.tolist() == [2, 4]
    # Timestamps of a NumPy str array (ids are strings) compare as numbers.
    as_str = np.array([["u", "a", "9"], ["u", "b", "10"], ["v", "a", "1"]])
    _, test = next(LeaveLastOut().split(as_str))
    assert test.tolist() == [1]


def test_leave_last_out_datetimes():
    frame = pd.DataFrame(
        {
            "u": ["x", "x", "y", "y"],
            "i": [1, 2, 1, 2],
            "t": pd.to_datetime(
                ["2021-05-01", "2020-01-01", "2020-01-01", "2022-01-01"]
            ),
        }
    )
    _, test = next(LeaveLastOut().split(frame))
    assert test.tolist() == [0, 3]


def test_leave_last_out_bad_input_raises():
    X = [[1, 1, 1], [1, 2, 2]]
    with pytest.raises(ValueError, match="time_column=5 is not a column"):
        list(LeaveLastOut(time_column=5).split(X))
    with pytest.raises(ValueError, match="time_column='when' is not a column"):
        list(LeaveLastOut(time_column="when").split(np.array(X)))
    with pytest.raises(ValueError, match="time_column=2 is not a column"):
        list(LeaveLastOut().split([[1, 1], [1, 2]]))
    with pytest.raises(ValueError, match="missing values"):
        list(LeaveLastOut().split([[1, 1, 1.0], [1, 2, np.nan]]))
    with pytest.raises(ValueError, match="cannot be ordered"):
        list(LeaveLastOut().split(np.array([[1, 1, 1], [1, 2, "x"]], dtype=object)))
    with pytest.raises(ValueError, match="no row to test"):
        list(LeaveLastOut().split([[1, 1, 1], [2, 2, 2]]))
    with pytest.raises(ValueError, match="at least 1"):
        LeaveLastOut(n=0)
    with pytest.raises(ValueError, match="time_column must be"):
        LeaveLastOut(time_column=1.5)
    assert LeaveLastOut().get_n_splits() == 1
    assert repr(LeaveLastOut(2)) == "LeaveLastOut(n=2, time_column=2)"


# TemporalSplit


@pytest.mark.parametrize(("test_size", "n_test"), [(0.2, 24), (0.25, 30), (7, 7)])
def test_temporal_split_cuts_at_one_time(test_size, n_test):
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [rng.integers(0, 10, 120), rng.integers(0, 10, 120), rng.integers(0, 15, 120)]
    )
    splits = list(TemporalSplit(test_size).split(X))
    assert len(splits) == 1
    train, test = splits[0]
    assert len(test) == n_test
    assert len(train) + len(test) == 120
    assert X[train, 2].max() <= X[test, 2].min()
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)


def test_temporal_split_ties_at_the_cut_go_by_row_order_and_cold_users_stay():
    X = [[1, 1, 5], [2, 1, 7], [1, 2, 7], [3, 1, 7], [1, 3, 1]]
    train, test = next(TemporalSplit(test_size=2).split(X))
    assert test.tolist() == [2, 3]  # user 3 is a cold user, only in test
    assert train.tolist() == [0, 1, 4]
    train, test = next(TemporalSplit(test_size=2, time_column=None).split(X))
    assert test.tolist() == [3, 4]


def test_temporal_split_bad_sizes_raise():
    for bad in (0.0, 1.0, 1.5, 0, -1, True, "0.2", None):
        with pytest.raises(ValueError, match="test_size must be"):
            TemporalSplit(bad)
    with pytest.raises(ValueError, match="leaving none for training"):
        list(TemporalSplit(3).split([[1, 1, 1], [1, 2, 2], [2, 1, 3]]))
    assert TemporalSplit().get_n_splits() == 1
    assert repr(TemporalSplit(5)) == "TemporalSplit(test_size=5, time_column=2)"


# train_test_split


def test_train_test_split_user_strategy_holds_out_a_share_per_user():
    X = random_interactions(seed=8)
    X_before = X.copy()
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
    np.testing.assert_array_equal(X, X_before)
    assert len(X_train) + len(X_test) == len(X)
    assert set(X_test[:, 0]) <= set(X_train[:, 0])
    users, counts = np.unique(X[:, 0], return_counts=True)
    test_users, test_counts = np.unique(X_test[:, 0], return_counts=True)
    per_user = dict(zip(test_users.tolist(), test_counts.tolist(), strict=True))
    for user, count in zip(users.tolist(), counts.tolist(), strict=True):
        expected = min(int(np.floor(0.3 * count + 0.5)), count - 1)
        assert per_user.get(user, 0) == expected


def test_train_test_split_user_strategy_int_is_rows_per_user():
    X = [["a", i] for i in range(4)] + [["b", 0], ["b", 1]] + [["c", 0]]
    X_train, X_test = train_test_split(X, test_size=2, random_state=0)
    assert sorted(row[0] for row in X_test) == ["a", "a", "b"]
    assert ["c", 0] in X_train


def test_train_test_split_user_strategy_is_random_within_user():
    X = [[0, i] for i in range(20)]
    _, test_a = train_test_split(np.array(X), test_size=0.5, random_state=0)
    _, test_b = train_test_split(np.array(X), test_size=0.5, random_state=1)
    _, test_a2 = train_test_split(np.array(X), test_size=0.5, random_state=0)
    assert len(test_a) == 10
    np.testing.assert_array_equal(test_a, test_a2)
    assert not np.array_equal(test_a, test_b)


def test_train_test_split_random_strategy():
    X = random_interactions(seed=9)
    y = np.arange(len(X), dtype=float)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, strategy="random", random_state=0
    )
    assert len(X_test) == int(np.ceil(0.25 * len(X)))
    np.testing.assert_array_equal(X[y_test.astype(int)], X_test)
    np.testing.assert_array_equal(X[y_train.astype(int)], X_train)
    again = train_test_split(X, test_size=0.25, strategy="random", random_state=0)
    np.testing.assert_array_equal(again[1], X_test)
    _, X_test = train_test_split(X, test_size=5, strategy="random", random_state=0)
    assert len(X_test) == 5


def test_train_test_split_time_strategy_matches_temporal_split():
    X = random_interactions(seed=10)
    X_train, X_test = train_test_split(X, test_size=0.2, strategy="time")
    train, test = next(TemporalSplit(0.2).split(X))
    np.testing.assert_array_equal(X_train, X[train])
    np.testing.assert_array_equal(X_test, X[test])
    assert X_train[:, 2].max() <= X_test[:, 2].min()


@pytest.mark.parametrize("strategy", ["user", "random", "time"])
def test_train_test_split_keeps_dataframes_and_aligns_y(strategy):
    X = random_interactions(seed=11)
    frame = pd.DataFrame(
        X, columns=["user", "item", "t"], index=np.arange(len(X)) + 100
    )
    y = pd.Series(np.arange(len(X)) + 100, index=frame.index, name="rating")
    X_train, X_test, y_train, y_test = train_test_split(
        frame, y, strategy=strategy, random_state=0
    )
    assert isinstance(X_train, pd.DataFrame) and isinstance(X_test, pd.DataFrame)
    assert isinstance(y_train, pd.Series) and isinstance(y_test, pd.Series)
    assert list(X_train.columns) == ["user", "item", "t"]
    # y holds each row's own index label, so alignment is visible.
    np.testing.assert_array_equal(X_train.index, y_train.to_numpy())
    np.testing.assert_array_equal(X_test.index, y_test.to_numpy())
    assert X_train.index.union(X_test.index).equals(frame.index)
    assert X_train.index.is_monotonic_increasing
    assert len(frame) == len(X)


def test_train_test_split_return_kinds():
    X = [["a", 1, 1], ["a", 2, 2], ["a", 3, 3], ["b", 1, 4], ["b", 2, 5]]
    parts = train_test_split(X, test_size=0.5, random_state=0)
    assert len(parts) == 2
    assert all(isinstance(part, list) for part in parts)
    parts = train_test_split(np.array(X, dtype=object), [1, 2, 3, 4, 5], random_state=0)
    assert len(parts) == 4
    assert isinstance(parts[0], np.ndarray) and parts[0].ndim == 2


def test_train_test_split_bad_arguments_raise():
    X = [["a", 1, 1], ["a", 2, 2], ["b", 1, 3]]
    with pytest.raises(ValueError, match="'user', 'random' or 'time'"):
        train_test_split(X, strategy="users")
    for bad in (0.0, 1.0, -2, True):
        with pytest.raises(ValueError, match="test_size must be"):
            train_test_split(X, test_size=bad)
    with pytest.raises(ValueError, match="y has 2 values"):
        train_test_split(X, [1, 2])
    with pytest.raises(ValueError, match="holds out no row"):
        train_test_split(X, test_size=0.2, strategy="user")
    with pytest.raises(ValueError, match="leaving none for training"):
        train_test_split(X, test_size=3, strategy="random")
