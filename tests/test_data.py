"""The data contract: validation of X/y, id encoding, the interaction matrix."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sk_recsys.data import (
    check_features,
    check_ids,
    check_interactions,
    encode_ids,
    get_column,
    interaction_matrix,
    lookup_ids,
)


def test_dataframe_columns_are_read_by_position_not_name():
    X = pd.DataFrame({"item": ["a", "b"], "user": [1, 2], "ts": [5, 6]})
    rows = check_interactions(X, [4, 5])
    assert rows.users.tolist() == ["a", "b"]  # column 0 is the user, whatever its name
    assert rows.items.tolist() == [1, 2]
    assert rows.y.tolist() == [4.0, 5.0]
    assert rows.y.dtype == np.float64
    assert rows.n_features == 3


def test_list_of_rows_keeps_each_column_type():
    rows = check_interactions([["ann", 1], ["bob", 2]])
    assert rows.users.dtype == object and rows.items.dtype.kind == "i"
    assert rows.y is None


@pytest.mark.parametrize(
    "X, y, message",
    [
        ([["u", "i"]], [np.nan], "y contains NaN or inf"),
        ([["u", "i"]], [np.inf], "y contains NaN or inf"),
        ([["u"], ["v"]], None, "minimum of 2 is required"),
        ([["u", "i"], ["v", "j"]], [1.0], "X has 2 rows but y has 1"),
        (np.empty((0, 2)), None, "X is empty"),
        ([["u", "i"], [3, "j"]], None, "mix strings and numbers"),
        ([[1.0, np.nan]], None, "NaN or inf"),
        ([["u", None]], None, "NaN, inf or None"),
        ([["u", "i"]], ["five"], "y must hold numbers"),
        (np.array([1, 2, 3]), None, "Reshape your data"),
        (sp.eye(3, format="csr"), None, "sparse matrix"),
        (None, None, "X is None"),
        (np.array([[1 + 1j, 2]]), None, "Complex data not supported"),
    ],
)
def test_bad_input_raises_one_sentence_value_error(X, y, message):
    with pytest.raises(ValueError, match=message) as info:
        check_interactions(X, y)
    assert "\n" not in str(info.value)


def test_unhashable_ids_are_a_type_error():
    with pytest.raises(TypeError, match="must be a string or a number"):
        check_interactions(np.array([[{"a": 1}, "i"]], dtype=object))


def test_column_vector_y_is_flattened_with_a_warning():
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        rows = check_interactions([["u", "i"], ["v", "j"]], np.array([[1.0], [2.0]]))
    assert rows.y.tolist() == [1.0, 2.0]


def test_inputs_are_never_modified():
    X = pd.DataFrame({"u": ["a", "b"], "i": [1, 2]})
    y = np.array([1, 2])
    X_before, y_before = X.copy(), y.copy()
    rows = check_interactions(X, y)
    rows.y[0] = 99.0
    pd.testing.assert_frame_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_check_ids_accepts_scalars_and_rejects_2d():
    assert check_ids("ann").tolist() == ["ann"]
    assert check_ids(np.int64(4)).tolist() == [4]
    with pytest.raises(ValueError, match="must be 1-D"):
        check_ids([[1, 2]])


@pytest.mark.parametrize(
    "ids",
    [
        np.array([5, 3, 5, 9, 3], dtype=np.int32),  # dense: lookup table
        np.array([-100, 100, 0, -100, 7], dtype=np.int8),  # span beyond int8
        np.array([0, 255, 3, 3], dtype=np.uint8),
        np.array([-(2**31), 2**31 - 1, 0], dtype=np.int32),  # sparse: hashing
        np.array([10**12, 3, 10**12], dtype=np.int64),
    ],
)
def test_encode_ids_of_integers_matches_sorted_factorize(ids):
    # Dense integer ids take a lookup table, others a hash table: the same
    # sorted uniques (in the ids' dtype) and int32 codes either way.
    uniques, (codes,) = encode_ids(ids)
    expected_codes, expected = pd.factorize(ids, sort=True)
    np.testing.assert_array_equal(uniques, np.asarray(expected))
    assert uniques.dtype == ids.dtype
    np.testing.assert_array_equal(codes, expected_codes)
    assert codes.dtype == np.int32


def test_encode_ids_sorts_and_shares_one_encoding():
    uniques, (a, b) = encode_ids(
        np.array(["b", "a"], dtype=object), np.array(["c", "a"], dtype=object)
    )
    assert uniques.tolist() == ["a", "b", "c"]
    assert a.tolist() == [1, 0] and b.tolist() == [2, 0]
    assert lookup_ids(
        pd.Index(uniques), np.array(["c", "zz"], dtype=object)
    ).tolist() == [
        2,
        -1,
    ]


def test_lookup_of_other_id_type_is_unknown_not_an_error():
    assert lookup_ids(pd.Index([1, 2]), np.array(["1"], dtype=object)).tolist() == [-1]


def test_interaction_matrix_sums_repeated_pairs():
    matrix = interaction_matrix(
        np.array([0, 0, 1]),
        np.array([2, 2, 0]),
        np.array([1.0, 3.0, 5.0]),
        shape=(2, 3),
    )
    assert matrix.format == "csr" and matrix.dtype == np.float32
    assert matrix.toarray().tolist() == [[0, 0, 4], [5, 0, 0]]
    assert matrix.has_canonical_format


def test_get_column_by_position_and_name():
    X = pd.DataFrame({"u": [1], "i": [2], "t": [3]})
    assert get_column(X, "t").tolist() == [3]
    assert get_column(np.array([[1, 2, 3]]), 2).tolist() == [3]
    with pytest.raises(ValueError, match="no column named"):
        get_column(X, "missing")
    with pytest.raises(ValueError, match="does not exist"):
        get_column(X, 5)


def test_check_features_requires_a_row_for_every_id_of_X():
    feats = pd.DataFrame({"price": [1.0]}, index=["tea"])
    with pytest.raises(ValueError, match="has no row for 1 item"):
        check_features(feats, np.array(["tea", "jam"], dtype=object), kind="item")
    with pytest.raises(ValueError, match="several rows for item"):
        check_features(
            pd.DataFrame({"p": [1, 2]}, index=["a", "a"]),
            np.array(["a"], dtype=object),
            kind="item",
        )
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        check_features({"tea": 1}, np.array(["tea"], dtype=object), kind="item")
    with pytest.raises(ValueError, match="holds number ids but X holds str"):
        check_features(
            pd.DataFrame({"p": [1]}, index=[1]),
            np.array(["a"], dtype=object),
            kind="item",
        )
