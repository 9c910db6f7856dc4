"""make_interactions: the embedded default data."""

import numpy as np
import pandas as pd
import pytest

from sk_recsys.datasets import make_interactions


def test_shapes_types_and_ranges():
    data = make_interactions(n_users=200, n_items=100, random_state=0)
    X, y = data.X, data.y
    assert list(X.columns) == ["user_id", "item_id", "timestamp"]
    assert len(X) == len(y) and set(np.unique(y)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert X["timestamp"].is_monotonic_increasing
    assert not X.duplicated(["user_id", "item_id"]).any()
    assert X.groupby("user_id").size().min() >= 3
    features = data.item_features
    assert len(features) == 100 and features.index.name == "item_id"
    assert features["title"].map(type).eq(str).all()
    assert features["image"].iloc[0].shape == (3, 8, 8)
    assert data.item_factors.shape == (100, 8) and data.user_factors.shape == (200, 8)


def test_same_seed_same_data_and_other_seed_other_data():
    a = make_interactions(n_users=50, n_items=30, random_state=1, return_X_y=True)
    b = make_interactions(n_users=50, n_items=30, random_state=1, return_X_y=True)
    c = make_interactions(n_users=50, n_items=30, random_state=2, return_X_y=True)
    pd.testing.assert_frame_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not a[0].equals(c[0])


def test_implicit_and_string_ids():
    X, y = make_interactions(
        n_users=20,
        n_items=15,
        explicit=False,
        string_ids=True,
        random_state=0,
        return_X_y=True,
    )
    assert y is None
    assert (
        X["user_id"].str.startswith("u").all()
        and X["item_id"].str.startswith("i").all()
    )


def test_popularity_is_skewed_and_ratings_follow_taste():
    data = make_interactions(random_state=0)
    counts = data.X["item_id"].value_counts()
    # the top tenth of the catalog outsells the bottom half
    assert counts.iloc[:50].sum() > 1.5 * counts.iloc[-250:].sum()
    flat = (
        make_interactions(popularity_skew=0.0, random_state=0)
        .X["item_id"]
        .value_counts()
    )
    assert flat.std() < counts.std()
    users = data.X["user_id"].to_numpy()
    items = data.X["item_id"].to_numpy()
    taste = np.einsum("ij,ij->i", data.user_factors[users], data.item_factors[items])
    assert np.corrcoef(taste, data.y)[0, 1] > 0.5


def test_titles_encode_the_category():
    data = make_interactions(n_items=200, random_state=0)
    cats = data.item_categories
    words = data.item_features["title"].str.split()

    def shared(same_category):
        return np.mean(
            [
                len(set(words.iloc[i]) & set(words.iloc[j]))
                for i in range(40)
                for j in range(i + 1, 40)
                if (cats[i] == cats[j]) == same_category
            ]
        )

    assert shared(True) > shared(False) + 0.5


def test_numeric_and_image_carry_different_parts_of_the_taste():
    # What the category (the title) cannot tell: each item's latent factors
    # minus its category's mean. The numeric columns follow factors 0-2, the
    # images' colour factors 3-5, and neither follows the other's factors, so
    # the modalities complement each other.
    data = make_interactions(n_items=500, random_state=0)
    factors, cats = data.item_factors, data.item_categories
    means = np.stack([factors[cats == c].mean(axis=0) for c in range(8)])
    residual = factors - means[cats]
    numeric = data.item_features[[f"numeric_{j}" for j in range(3)]].to_numpy()
    colour = np.stack(data.item_features["image"].to_numpy()).mean(axis=(2, 3))

    def corr(a, b):
        return np.corrcoef(a, b)[0, 1]

    for j in range(3):
        assert corr(numeric[:, j], residual[:, j]) > 0.3
        assert corr(colour[:, j], residual[:, 3 + j]) > 0.3
        assert abs(corr(numeric[:, j], residual[:, 3 + j])) < 0.15
        assert abs(corr(colour[:, j], residual[:, j])) < 0.15


def test_interactions_are_pinned_whatever_the_features():
    # The benchmarks rely on these exact interactions: the item features are
    # drawn after them, so changing how features are made must not move them.
    X, y = make_interactions(n_users=50, n_items=30, random_state=1, return_X_y=True)
    data = make_interactions(n_users=50, n_items=30, random_state=1)
    pd.testing.assert_frame_equal(data.X, X)
    np.testing.assert_array_equal(data.y, y)
    assert len(X) == 711
    assert X["item_id"].head(8).tolist() == [10, 20, 16, 21, 19, 24, 4, 26]
    assert y.sum() == 2479.0


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        make_interactions(n_users=1)
    with pytest.raises(ValueError):
        make_interactions(popularity_skew=-1)
