"""Full-catalog ranking scorers, and their use in sklearn model selection."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import (
    auc_score,
    get_scorer,
    make_ranking_scorer,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from sk_recsys.model_selection import UserKFold, train_test_split
from sk_recsys.models import EASE, ItemKNN, Popularity

METRICS = ("precision@10", "recall@10", "f1@10", "ndcg@10", "map@10", "mrr@10")


@pytest.fixture(scope="module")
def split():
    X, y = make_interactions(n_users=150, n_items=90, random_state=3, return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def _dense_truth(model, X_test, y_test=None, threshold=None):
    """Relevance and masked scores built by hand, for the users of X_test."""
    keep = np.ones(len(X_test), bool) if threshold is None else y_test >= threshold
    users = np.unique(X_test.iloc[:, 0][keep])
    items = list(model.items_)
    truth = np.zeros((len(users), len(items)))
    for user, item in X_test.iloc[:, :2][keep].itertuples(index=False):
        truth[np.searchsorted(users, user), items.index(item)] = 1
    scores = model.score_items(users).astype(np.float64)
    rows = [list(model.users_).index(u) for u in users]
    scores[model.interactions_[rows].toarray() > 0] = -np.inf
    return truth, scores


def test_scorers_equal_the_metric_functions_on_the_masked_ranking(split):
    X_train, X_test, y_train, _ = split
    model = ItemKNN().fit(X_train, y_train)
    truth, scores = _dense_truth(model, X_test)
    assert get_scorer("precision@10")(model, X_test) == pytest.approx(
        precision_at_k(truth, scores, k=10)
    )
    assert get_scorer("recall@5")(model, X_test) == pytest.approx(
        recall_at_k(truth, scores, k=5)
    )
    assert get_scorer("ndcg@20")(model, X_test) == pytest.approx(
        ndcg_at_k(truth, scores, k=20)
    )
    assert get_scorer("auc")(model, X_test) == pytest.approx(auc_score(truth, scores))


def test_relevance_threshold_keeps_only_high_ratings(split):
    X_train, X_test, y_train, y_test = split
    model = EASE().fit(X_train, y_train)
    truth, scores = _dense_truth(model, X_test, y_test, threshold=4)
    scorer = make_ranking_scorer("recall", k=10, relevance_threshold=4)
    assert scorer(model, X_test, y_test) == pytest.approx(
        recall_at_k(truth, scores, k=10)
    )
    with pytest.raises(ValueError, match="needs the ratings y"):
        scorer(model, X_test)


def test_exclude_seen_false_ranks_training_items_too(split):
    X_train, X_test, y_train, _ = split
    model = Popularity().fit(X_train, y_train)
    truth, _ = _dense_truth(model, X_test)
    users = np.unique(X_test.iloc[:, 0])
    unmasked = make_ranking_scorer("precision", k=10, exclude_seen=False)
    expected = precision_at_k(truth, model.score_items(users), k=10)
    assert unmasked(model, X_test) == pytest.approx(expected)


def test_relevant_items_unknown_to_the_model_count_as_missed():
    X_train = [["a", "x"], ["a", "y"], ["b", "y"], ["b", "z"]]
    model = Popularity().fit(X_train)
    # a's held-out items: z (rankable, ranked first) and "new" (never seen).
    X_test = [["a", "z"], ["a", "new"]]
    assert get_scorer("recall@1")(model, X_test) == pytest.approx(0.5)
    assert get_scorer("precision@1")(model, X_test) == pytest.approx(1.0)


def test_one_ranking_serves_every_metric_of_a_scoring_dict(split, monkeypatch):
    X_train, X_test, _, _ = split
    calls = []
    original = ItemKNN.score_items

    def counting(self, users, items=None):
        calls.append(len(users))
        return original(self, users, items)

    monkeypatch.setattr(ItemKNN, "score_items", counting)
    scoring = {name: get_scorer(name) for name in (*METRICS, "auc")}
    X = pd.concat([X_train, X_test], ignore_index=True)
    n_train = len(X_train)
    cv = [(np.arange(n_train), np.arange(n_train, len(X)))]
    result = cross_validate(ItemKNN(), X, cv=cv, scoring=scoring)
    assert len(calls) == 1, "the ranking must be computed once for all 7 metrics"
    assert all(0 <= result[f"test_{name}"][0] <= 1 for name in scoring)


def test_a_refit_model_is_scored_afresh(split):
    X_train, X_test, y_train, _ = split
    model = ItemKNN().fit(X_train, y_train)
    first = get_scorer("ndcg@10")(model, X_test)
    model.fit(X_test, None)  # now the held-out rows are "seen" and masked
    with pytest.warns(UserWarning, match="training interaction"):
        assert get_scorer("ndcg@10")(model, X_test) != first


def test_get_scorer_names():
    assert repr(get_scorer("hit_rate@3")) == "make_ranking_scorer('hit_rate', k=3)"
    assert repr(get_scorer("map@100")) == "make_ranking_scorer('map', k=100)"
    assert get_scorer("neg_root_mean_squared_error") is not None  # sklearn's
    for bad in ("precision", "precision@0", "recall@x", "nope@10"):
        with pytest.raises(ValueError):
            get_scorer(bad)
    with pytest.raises(ValueError, match="Unknown ranking metric"):
        make_ranking_scorer("accuracy")
    assert repr(make_ranking_scorer(precision_at_k, k=5)) == (
        "make_ranking_scorer('precision', k=5)"
    )


def test_grid_search_with_string_ids_beats_popularity():
    """The foundation issue's acceptance example, as written."""
    X, y = make_interactions(string_ids=True, random_state=0, return_X_y=True)
    scoring = {
        "p": get_scorer("precision@10"),
        "r": get_scorer("recall@10"),
        "f1": get_scorer("f1@10"),
        "auc": get_scorer("auc"),
    }
    search = GridSearchCV(
        ItemKNN(),
        {"n_neighbors": [20, 100]},
        scoring=scoring,
        refit="p",
        cv=UserKFold(3, random_state=0),
        n_jobs=2,
    ).fit(X, y)
    baseline = cross_validate(
        Popularity(), X, y, scoring=scoring, cv=UserKFold(3, random_state=0)
    )
    assert search.best_score_ > baseline["test_p"].mean() + 0.1
    assert set(search.cv_results_) >= {"mean_test_p", "mean_test_auc", "mean_test_f1"}
    ids, _ = search.best_estimator_.recommend(["u0001"], k=3)
    assert all(isinstance(i, str) for i in ids.ravel())


def test_grid_search_over_a_pipeline_that_keeps_the_ids_first():
    X, y = make_interactions(n_users=300, n_items=150, random_state=1, return_X_y=True)
    prepare = ColumnTransformer(
        [("ids", "passthrough", [0, 1]), ("time", StandardScaler(), [2])]
    )
    pipe = Pipeline([("prepare", prepare), ("model", ItemKNN())])
    search = GridSearchCV(
        pipe,
        {"model__n_neighbors": [10, 50]},
        scoring={"ndcg": get_scorer("ndcg@10"), "auc": get_scorer("auc")},
        refit="ndcg",
        cv=UserKFold(3, random_state=0),
    ).fit(X, y)
    assert 0.2 < search.best_score_ <= 1.0
    X_train, X_test, y_train, _ = train_test_split(X, y, random_state=0)
    pipe.fit(X_train, y_train)
    direct = ItemKNN().fit(X_train, y_train)
    assert get_scorer("ndcg@10")(pipe, X_test) == pytest.approx(
        get_scorer("ndcg@10")(direct, X_test)
    )


def test_score_on_the_training_rows_warns_that_they_are_excluded():

    data = make_interactions(n_users=30, n_items=20, random_state=0)
    X_train, X_test = train_test_split(data.X, test_size=0.25, random_state=0)
    model = ItemKNN().fit(X_train)
    with pytest.warns(UserWarning, match="exclude_seen") as caught:
        assert model.score(X_train) == 0.0
    assert caught[0].filename == __file__  # points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.score(X_test) > 0
        # One held-out row among training rows: a real evaluation, no warning.
        model.score(pd.concat([X_train, X_test.iloc[:1]]))
        # Without the exclusion, the training rows are what it ranks.
        assert make_ranking_scorer("ndcg", exclude_seen=False)(model, X_train) > 0
