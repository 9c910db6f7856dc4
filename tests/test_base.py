"""The recommend/score_items/predict/score contract every model inherits."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

import sk_recsys.base
from sk_recsys.base import RecommenderMixin
from sk_recsys.metrics import get_scorer
from sk_recsys.models import EASE, ItemKNN, Popularity

X = pd.DataFrame(
    {
        "user": ["ann", "ann", "bob", "bob", "bob", "cid", "cid", "dan"],
        "item": ["tea", "jam", "tea", "jam", "pie", "tea", "rye", "tea"],
    }
)


class FixedScores(RecommenderMixin, BaseEstimator):
    """Scores item j of user u as u * 10 + j (index space): easy to predict."""

    def fit(self, X, y=None):
        self._fit_interactions(X, y)
        return self

    def _score_users(self, users):
        return users[:, None] * 10.0 + np.arange(self.n_items_)[None, :]


def test_recommend_excludes_seen_and_lists_best_first():
    model = Popularity().fit(X)
    ids, scores = model.recommend(["cid", "dan"], k=2)
    # popularity: tea 4, jam 2, pie 1, rye 1
    assert ids[0, 0] == "jam" and ids[1].tolist() == ["jam", ids[1, 1]]
    assert set(ids[1]) <= {"jam", "pie", "rye"}
    assert scores[:, 0].tolist() == [2.0, 2.0]
    ids, _ = model.recommend(["cid"], k=1, exclude_seen=False)
    assert ids.tolist() == [["tea"]]


def test_padding_when_fewer_items_than_k_are_rankable():
    model = Popularity().fit(X)
    ids, scores = model.recommend(["bob"], k=4)  # bob saw 3 of 4 items
    assert ids[0, 0] == "rye"
    assert np.isneginf(scores[0, 1:]).all()
    assert ids[0, 1:].tolist() == [None, None, None]
    int_model = Popularity().fit([[1, 10], [1, 11], [2, 10]])
    ids, scores = int_model.recommend([1], k=2)
    assert ids.tolist() == [[-1, -1]] and np.isneginf(scores).all()


def test_candidates_restrict_the_ranking_and_unknown_candidates_are_dropped():
    model = Popularity().fit(X)
    ids, scores = model.recommend(["dan"], k=2, candidates=["rye", "nope", "tea"])
    assert ids[0, 0] == "rye"  # tea is seen, nope is unknown
    assert np.isneginf(scores[0, 1])


def test_k_is_validated():
    model = Popularity().fit(X)
    for k in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            model.recommend(["ann"], k=k)
    with pytest.raises(ValueError, match="larger than the catalog of 4 items"):
        model.recommend(["ann"], k=5)


def test_unknown_user_gets_popularity_and_history_folds_in():
    model = ItemKNN(n_neighbors=5, shrinkage=0).fit(X)
    ids, scores = model.recommend(["zoe"], k=4)
    assert ids[0].tolist()[:2] == ["tea", "jam"]
    assert np.isfinite(scores).all()
    # rye is only ever seen with tea: a history of [tea] makes rye a candidate
    # and excludes tea itself.
    ids, _ = model.recommend(["zoe"], k=3, history=[["tea"]])
    assert "tea" not in ids[0]
    assert set(ids[0]) == {"jam", "pie", "rye"}
    by_dict, _ = model.recommend(["zoe"], k=3, history={"zoe": {"tea": 1.0}})
    np.testing.assert_array_equal(ids, by_dict)


def test_history_for_a_known_user_adds_to_their_training_row():
    model = ItemKNN(n_neighbors=5, shrinkage=0).fit(X)
    ids, _ = model.recommend(["dan"], k=2, history=[["jam"]])
    assert "jam" not in ids[0] and "tea" not in ids[0]


def test_history_is_validated():
    model = Popularity().fit(X)
    with pytest.raises(ValueError, match="one entry"):
        model.recommend(["ann", "bob"], k=1, history=[["tea"]])
    with pytest.raises(ValueError, match="single id"):
        model.recommend(["ann"], k=1, history=["tea"])


def test_score_items_matches_predict_and_handles_unknown_ids():
    model = FixedScores().fit(X)
    full = model.score_items(["bob", "ann"])
    assert full.shape == (2, 4)
    np.testing.assert_allclose(full[0], 10 + np.arange(4))
    subset = model.score_items(["bob"], items=["pie", "nope"])
    assert subset[0, 0] == full[0, list(model.items_).index("pie")]
    assert np.isneginf(subset[0, 1])
    pairs = model.predict([["bob", "pie"], ["ann", "tea"]])
    assert pairs.tolist() == [
        full[0, list(model.items_).index("pie")],
        full[1, list(model.items_).index("tea")],
    ]
    # Unknown rows fall back to item popularity (0 for an unknown item).
    assert model.predict([["zoe", "tea"], ["ann", "nope"]]).tolist() == [4.0, 0.0]


def test_rating_models_fall_back_to_the_global_mean():
    model = ItemKNN().fit(X, y=[5, 3, 4, 2, 1, 5, 4, 4])
    assert model.predict([["zoe", "tea"]]).tolist() == [pytest.approx(3.5)]


def test_chunked_scoring_gives_the_same_results(ratings):
    X, _ = ratings
    model = EASE().fit(X)
    users = np.asarray(model.users_)
    ids, scores = model.recommend(users, k=5)
    full = model.score_items(users)
    pred = model.predict(X)
    # Seven users per chunk: 16 bytes per (user, item) cell of a chunk.
    with sk_recsys.config_context(working_memory=7 * model.n_items_ * 16 / 2**20):
        ids2, scores2 = model.recommend(users, k=5)
        full2, pred2 = model.score_items(users), model.predict(X)
    np.testing.assert_array_equal(ids, ids2)
    # float32 matrix products of other shapes may differ in the last bit
    np.testing.assert_allclose(scores, scores2, rtol=1e-5)
    np.testing.assert_allclose(full2, full, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(pred2, pred, rtol=1e-6)


def test_inference_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        Popularity().recommend(["ann"])
    with pytest.raises(NotFittedError):
        Popularity().predict(X)


def test_ids_of_another_type_than_in_fit_warn():
    model = Popularity().fit(X)
    with pytest.warns(UserWarning, match="fitted on str user ids"):
        model.recommend([1, 2], k=1)


def test_score_is_ndcg_at_10(ratings):
    X, y = ratings
    model = ItemKNN().fit(X.iloc[:1000], y[:1000])
    held_out = X.iloc[1000:]
    assert model.score(held_out) == get_scorer("ndcg@10")(model, held_out)


def test_items_only_in_item_features_join_the_catalog():
    features = pd.DataFrame({"p": [1.0] * 5}, index=["tea", "jam", "pie", "rye", "new"])
    model = Popularity().fit(X, item_features=features)
    assert "new" in model.items_ and model.n_items_ == 5
    assert model.item_popularity_[list(model.items_).index("new")] == 0
    with pytest.raises(ValueError, match="has no row for 1 item"):
        Popularity().fit(X, item_features=features.drop("rye"))
