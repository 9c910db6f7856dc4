"""The built-in models compute what their docstrings say, and rank well."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import movielens_home, requires_movielens

from sk_recsys.datasets import load_movielens, make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import EASE, ItemKNN, Popularity, UserKNN


def _random_matrix(seed, n_users=30, n_items=20, density=0.25, explicit=False):
    rng = np.random.RandomState(seed)
    mask = rng.rand(n_users, n_items) < density
    mask[np.arange(n_users), rng.randint(0, n_items, n_users)] = True  # no empty user
    values = rng.randint(1, 6, size=mask.shape).astype(float) if explicit else 1.0
    dense = np.where(mask, values, 0.0)
    users, items = np.nonzero(dense)
    X = np.column_stack([users, items])
    return X, dense[users, items], dense


def _shrunk_cosine(a, b, shrinkage):
    norms = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :]
    return (a @ b.T) / (norms + shrinkage + 1e-12)


def _keep_top(sim, k):
    """Zero all but the k largest positive entries of each row."""
    kept = np.zeros_like(sim)
    for row in range(sim.shape[0]):
        top = np.argsort(-sim[row], kind="stable")[:k]
        kept[row, top] = np.clip(sim[row, top], 0, None)
    return kept


@pytest.mark.parametrize("seed", [0, 1])
def test_item_knn_scores_are_the_neighbour_sum(seed):
    # Ratings as weights make similarities distinct, so the top-k has no ties.
    X, y, R = _random_matrix(seed, explicit=True)
    model = ItemKNN(n_neighbors=4, shrinkage=2.0).fit(X, y)
    sim = _shrunk_cosine(R.T, R.T, 2.0)
    np.fill_diagonal(sim, 0)
    W = _keep_top(sim, 4)  # row i: the neighbours of item i
    np.testing.assert_allclose(model.similarity_.toarray(), W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.score_items(np.arange(R.shape[0])), R @ W.T, rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_user_knn_scores_are_the_neighbour_sum(seed):
    X, y, R = _random_matrix(seed, explicit=True)
    model = UserKNN(n_neighbors=3, shrinkage=1.0).fit(X, y)
    sim = _shrunk_cosine(R, R, 1.0)
    np.fill_diagonal(sim, 0)
    W = _keep_top(sim, 3)
    np.testing.assert_allclose(model.similarity_.toarray(), W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.score_items(np.arange(R.shape[0])), W @ R, rtol=1e-5, atol=1e-5
    )


def test_user_knn_fold_in_finds_neighbours_among_training_users():
    X, _, R = _random_matrix(3)
    model = UserKNN(n_neighbors=3, shrinkage=0.0).fit(X)
    history = np.flatnonzero(R[5])
    _, scores = model.recommend([10**6], k=3, history=[history.tolist()])
    sim = _keep_top(_shrunk_cosine(R[5:6], R, 0.0), 3)  # user 5 is its own neighbour
    expected = (sim @ R)[0]
    expected[history] = -np.inf
    np.testing.assert_allclose(scores[0], np.sort(expected)[::-1][:3], rtol=1e-5)


def test_item_knn_predicts_ratings_by_mean_centred_average():
    X = [["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"], ["c", "x"]]
    y = [5.0, 3.0, 4.0, 2.0, 1.0]
    model = ItemKNN(n_neighbors=1, shrinkage=0.0).fit(X, y)
    # item means: x = 10/3, y = 2.5; y's only neighbour is x.
    # c rated x = 1: prediction = 2.5 + (1 - 10/3) = 0.1667 -> clipped to 1.
    assert model.predict([["c", "y"]]) == pytest.approx([1.0])
    # a rated x = 5: 2.5 + (5 - 10/3) = 4.1667
    assert model.predict([["a", "y"]]) == pytest.approx([2.5 + 5 - 10 / 3])


def test_user_knn_predicts_ratings_by_mean_centred_average():
    X = [["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"], ["b", "z"], ["c", "q"]]
    y = [4.0, 2.0, 5.0, 3.0, 4.0, 3.0]
    model = UserKNN(n_neighbors=1, shrinkage=0.0).fit(X, y)
    # a's neighbour is b (mean 4); a's mean is 3: 3 + (4 - 4) = 3
    assert model.predict([["a", "z"]]) == pytest.approx([3.0])


def test_ease_matches_the_closed_form():
    X, y, R = _random_matrix(4, explicit=True)
    model = EASE(l2=3.0).fit(X, y)
    binary = (R > 0).astype(float)
    P = np.linalg.inv(binary.T @ binary + 3.0 * np.eye(R.shape[1]))
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(model.coef_, B, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        model.score_items(np.arange(R.shape[0])), binary @ B, rtol=1e-4, atol=1e-5
    )
    weighted = EASE(l2=3.0, binarize=False).fit(X, y)
    P = np.linalg.inv(R.T @ R + 3.0 * np.eye(R.shape[1]))
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(weighted.coef_, B, rtol=1e-4, atol=1e-5)


def test_ease_rejects_an_unavailable_device():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="not available on this machine"):
        EASE(device="cuda").fit([[1, 2], [2, 3]])
    with pytest.raises(ValueError, match="not a torch device"):
        EASE(device="warp-drive").fit([[1, 2], [2, 3]])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_ease_on_the_gpu_matches_the_cpu_and_unpickles(ratings):
    X, y = ratings
    cpu = EASE().fit(X, y)
    gpu = EASE(device="cuda").fit(X, y)
    users = np.asarray(cpu.users_)[:20]
    np.testing.assert_allclose(
        gpu.score_items(users), cpu.score_items(users), atol=1e-4
    )
    restored = pickle.loads(pickle.dumps(gpu))
    assert restored._coef_device_.device.type == "cuda"
    np.testing.assert_array_equal(restored.recommend(users)[0], gpu.recommend(users)[0])


def test_popularity_counts_distinct_users():
    model = Popularity().fit([[1, "a"], [1, "a"], [2, "a"], [3, "b"]])
    assert dict(zip(model.items_, model.item_popularity_, strict=True)) == {
        "a": 2,
        "b": 1,
    }


@pytest.mark.parametrize("model", [ItemKNN(), UserKNN(), EASE()])
def test_personalised_models_beat_popularity_on_planted_structure(model):
    X, y = make_interactions(random_state=0, return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, random_state=0)
    ndcg = get_scorer("ndcg@10")
    baseline = ndcg(Popularity().fit(X_train, y_train), X_test)
    assert ndcg(model.fit(X_train, y_train), X_test) > 2 * baseline


@requires_movielens
def test_movielens_ua_quality_of_the_defaults():
    """Implicit ua protocol; skrecsys 0.9.0 defaults score 0.3163 / 0.2474 / 0.1331."""
    X_train, X_test, _, _ = load_movielens(
        "100k", split="ua", data_home=movielens_home(), return_X_y=True
    )
    ndcg = get_scorer("ndcg@10")
    scores = {
        type(model).__name__: ndcg(model.fit(X_train), X_test)
        for model in (Popularity(), ItemKNN(), UserKNN(), EASE())
    }
    assert scores["EASE"] >= 0.3163 - 1e-3
    assert scores["ItemKNN"] >= 0.2474
    assert scores["UserKNN"] >= 0.2474
    assert scores["Popularity"] == pytest.approx(0.1331, abs=2e-3)


def test_feature_only_items_are_ranked_last_by_collaborative_models():
    X, y = make_interactions(n_users=50, n_items=30, random_state=1, return_X_y=True)
    items = np.unique(X.iloc[:, 1])
    features = pd.DataFrame({"p": 0.0}, index=[*items, 999])
    for model in (ItemKNN(), EASE(), UserKNN()):
        model.fit(X, y, item_features=features)
        assert 999 in model.items_
        scores = model.score_items([X.iloc[0, 0]], items=[999])
        assert scores[0, 0] == 0.0
