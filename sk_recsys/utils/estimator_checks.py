"""The conformance kit: run a recommender through the whole sk_recsys contract.

:func:`check_recommender` is what a plugin author runs in their test suite,
and what sk_recsys runs on every registered model. It fails with an
``AssertionError`` that names the broken rule.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

__all__ = ["SKLEARN_EXPECTED_FAILURES", "check_recommender"]

#: sklearn estimator checks that a recommender fails by design, with why.
SKLEARN_EXPECTED_FAILURES = {
    "check_n_features_in_after_fitting": (
        "predict and recommend accept (user, item) rows without the context "
        "columns seen in fit: columns after the first two are optional."
    ),
}


class _Data:
    """Small train/test interaction sets shared by the checks."""

    def __init__(self):
        from ..datasets import make_interactions
        from ..model_selection import train_test_split

        data = make_interactions(
            n_users=60, n_items=40, interactions_per_user=10, random_state=0
        )
        X, y = data.X, data.y
        self.X, self.y = X, y
        # Features for every item plus two items that nobody interacted with.
        self.cold_items = [10**6, 10**6 + 1]
        cold = data.item_features.iloc[:2].set_axis(
            pd.Index(self.cold_items, name="item_id")
        )
        self.item_features = pd.concat([data.item_features, cold])
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y, test_size=0.25, random_state=0
        )
        Xs, ys = make_interactions(
            n_users=30,
            n_items=25,
            interactions_per_user=8,
            string_ids=True,
            random_state=1,
            return_X_y=True,
        )
        self.X_str, self.y_str = Xs, ys


def _fit(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return estimator.fit(X, y)


def _training_items(model, user) -> set:
    code = list(model.users_).index(user)
    row = sp.csr_matrix(model.interactions_)[code]
    return set(np.asarray(model.items_)[row.indices].tolist())


# ----------------------------------------------------------------- checks


def check_sklearn_api(estimator, data):
    """Parameters round-trip through get_params/set_params/clone; repr works."""
    params = estimator.get_params(deep=False)
    cloned = clone(estimator)
    assert type(cloned) is type(estimator), "clone changed the class"
    assert cloned.get_params(deep=False).keys() == params.keys(), (
        "clone lost or added parameters: __init__ must store each argument "
        "under its own name and nothing else"
    )
    assert cloned.set_params(**params) is cloned, "set_params must return self"
    repr(estimator)
    for method in ("fit", "predict", "score_items", "recommend", "score"):
        assert callable(getattr(estimator, method, None)), f"{method} is missing"


def check_unfitted_raises(estimator, data):
    """Inference before fit raises NotFittedError."""
    calls = {
        "predict": lambda: estimator.predict(data.X_test),
        "score_items": lambda: estimator.score_items(data.X_test.iloc[:3, 0]),
        "recommend": lambda: estimator.recommend(data.X_test.iloc[:3, 0], k=3),
    }
    for name, call in calls.items():
        try:
            call()
        except NotFittedError:
            continue
        raise AssertionError(f"{name} before fit must raise NotFittedError")


def check_fitted_attributes(estimator, data):
    """fit returns self and sets users_, items_, n_users_, n_items_, interactions_."""
    returned = _fit(estimator, data.X_train, data.y_train)
    assert returned is estimator, "fit must return self"
    users, items = data.X_train.iloc[:, 0], data.X_train.iloc[:, 1]
    assert set(np.asarray(estimator.users_).tolist()) >= set(users), (
        "users_ must list every user of X"
    )
    assert set(np.asarray(estimator.items_).tolist()) >= set(items), (
        "items_ must list every item of X"
    )
    assert estimator.n_users_ == len(estimator.users_), "n_users_ != len(users_)"
    assert estimator.n_items_ == len(estimator.items_), "n_items_ != len(items_)"
    matrix = estimator.interactions_
    assert sp.issparse(matrix) and matrix.format == "csr", (
        "interactions_ must be a scipy.sparse CSR matrix"
    )
    assert matrix.shape == (estimator.n_users_, estimator.n_items_), (
        "interactions_ must have shape (n_users_, n_items_)"
    )
    assert matrix.nnz == len(data.X_train.drop_duplicates(data.X_train.columns[:2])), (
        "interactions_ must hold one entry per distinct training (user, item)"
    )
    fitted = clone(estimator)
    assert not hasattr(fitted, "items_"), "clone of a fitted model must be unfitted"


def check_predict(estimator, data):
    """predict returns one finite value per row, unknown ids included."""
    _fit(estimator, data.X_train, data.y_train)
    scores = estimator.predict(data.X_test)
    assert isinstance(scores, np.ndarray) and scores.shape == (len(data.X_test),), (
        "predict must return an ndarray of shape (n_rows,)"
    )
    assert np.isfinite(scores).all(), "predict returned NaN or inf"
    unknown = pd.DataFrame(
        {"u": [10**9, data.X.iloc[0, 0]], "i": [data.X.iloc[0, 1], 10**9]}
    )
    fallback = estimator.predict(unknown)
    assert fallback.shape == (2,) and np.isfinite(fallback).all(), (
        "predict on an unknown user or item must return a finite fallback"
    )
    pairs = data.X_test.iloc[:, :2].to_numpy()
    assert np.allclose(estimator.predict(pairs), scores, rtol=1e-5, atol=1e-5), (
        "predict must ignore context columns and accept a plain 2-column array"
    )


def check_score_items(estimator, data):
    """score_items covers the catalog in items_ order, or the given items."""
    _fit(estimator, data.X_train, data.y_train)
    users = np.asarray(estimator.users_)[:7]
    full = estimator.score_items(users)
    assert full.shape == (len(users), estimator.n_items_), (
        "score_items must return shape (n_users, n_items_)"
    )
    assert not np.isnan(full).any(), "score_items returned NaN"
    items = np.asarray(estimator.items_)[[3, 0, 5]]
    subset = estimator.score_items(users, items)
    assert np.allclose(subset, full[:, [3, 0, 5]], rtol=1e-5, atol=1e-5), (
        "score_items(users, items) must equal the matching columns of the full scores"
    )
    unknown = estimator.score_items([10**9])
    assert unknown.shape == (1, estimator.n_items_) and np.isfinite(unknown).all(), (
        "score_items for an unknown user must return finite fallback scores"
    )


def check_recommend(estimator, data):
    """recommend returns (ids, scores) best first, excluding seen items."""
    _fit(estimator, data.X_train, data.y_train)
    users = np.asarray(estimator.users_)[:10]
    k = 5
    ids, scores = estimator.recommend(users, k=k)
    assert ids.shape == (len(users), k) and scores.shape == (len(users), k), (
        "recommend must return two arrays of shape (n_users, k)"
    )
    assert (np.diff(scores, axis=1) <= 1e-6).all(), "recommend must list best first"
    catalog = set(np.asarray(estimator.items_).tolist())
    full = estimator.score_items(users)
    for row, user in enumerate(users):
        listed = [
            item
            for item, s in zip(ids[row], scores[row], strict=True)
            if np.isfinite(s)
        ]
        assert set(listed) <= catalog, "recommend returned ids outside items_"
        assert len(set(listed)) == len(listed), "recommend repeated an item"
        assert not set(listed) & _training_items(estimator, user), (
            "recommend with exclude_seen=True returned a training item"
        )
        allowed = np.ones(estimator.n_items_, dtype=bool)
        allowed[
            [list(estimator.items_).index(i) for i in _training_items(estimator, user)]
        ] = False
        assert np.isclose(
            scores[row, 0], full[row][allowed].max(), rtol=1e-4, atol=1e-4
        ), (
            "the first recommendation must have the best score_items score among "
            "unseen items"
        )
    seen_ids, _ = estimator.recommend(users, k=k, exclude_seen=False)
    assert seen_ids.shape == (len(users), k), "exclude_seen=False must keep the shape"
    for bad_k in (0, -1, estimator.n_items_ + 1):
        try:
            estimator.recommend(users[:1], k=bad_k)
        except ValueError:
            continue
        raise AssertionError(f"recommend(k={bad_k}) must raise ValueError")


def check_candidates_and_padding(estimator, data):
    """candidates restrict the ranking; short lists are padded with -inf."""
    _fit(estimator, data.X_train, data.y_train)
    user = np.asarray(estimator.users_)[0]
    unseen = [i for i in estimator.items_ if i not in _training_items(estimator, user)]
    candidates = unseen[:3]
    ids, scores = estimator.recommend([user], k=5, candidates=candidates)
    assert set(ids[0, :3].tolist()) == set(candidates), (
        "recommend(candidates=...) must rank only the candidates"
    )
    assert np.isneginf(scores[0, 3:]).all() and np.isfinite(scores[0, :3]).all(), (
        "a list shorter than k must be padded with score -inf"
    )


def check_unknown_users(estimator, data):
    """Unknown users get a full list; history is excluded when given."""
    _fit(estimator, data.X_train, data.y_train)
    k = 5
    ids, scores = estimator.recommend([10**9, 10**9 + 1], k=k)
    assert ids.shape == (2, k) and np.isfinite(scores).all(), (
        "recommend for an unknown user must return a full list"
    )
    history = list(np.asarray(estimator.items_)[:4])
    ids, scores = estimator.recommend([10**9], k=k, history=[history])
    assert np.isfinite(scores).all(), "recommend with history must return a full list"
    assert not set(ids[0].tolist()) & set(history), (
        "recommend must exclude the history items"
    )


def check_score(estimator, data):
    """score is NDCG@10 on held-out rows, in [0, 1]."""
    from ..metrics import get_scorer

    _fit(estimator, data.X_train, data.y_train)
    value = estimator.score(data.X_test, data.y_test)
    assert isinstance(value, float) and 0.0 <= value <= 1.0, "score must be in [0, 1]"
    expected = get_scorer("ndcg@10")(estimator, data.X_test, data.y_test)
    assert np.isclose(value, expected), "score must equal the ndcg@10 scorer"


def check_bad_input(estimator, data):
    """Bad X or y raise ValueError naming the problem."""
    X, y = data.X_train, data.y_train
    y_nan = y.copy()
    y_nan[0] = np.nan
    mixed = X.astype({X.columns[0]: object})
    mixed.iloc[0, 0] = "a-string-id"
    cases = {
        "NaN in y": (X, y_nan),
        "one column": (X.iloc[:, :1], y),
        "length mismatch": (X, y[:-1]),
        "empty X": (X.iloc[:0], y[:0]),
        "mixed id types": (mixed, y),
    }
    for problem, (bad_X, bad_y) in cases.items():
        try:
            clone(estimator).fit(bad_X, bad_y)
        except ValueError as exc:
            assert str(exc), f"the ValueError for {problem} has no message"
            continue
        raise AssertionError(f"fit with {problem} must raise ValueError")


def check_inputs_not_modified(estimator, data):
    """Nothing the user passes is modified."""
    X, y = data.X_train.copy(), data.y_train.copy()
    _fit(estimator, X, y)
    users = list(X.iloc[:5, 0])
    history = [list(X.iloc[:3, 1])]
    estimator.predict(X)
    estimator.recommend(users[:1], k=3, history=history)
    pd.testing.assert_frame_equal(X, data.X_train, obj="X after fit/predict")
    np.testing.assert_array_equal(y, data.y_train, err_msg="y was modified")
    assert history == [list(data.X_train.iloc[:3, 1])], "history was modified"


def check_string_ids(estimator, data):
    """String ids work end to end and come back as strings."""
    _fit(estimator, data.X_str, data.y_str)
    ids, _ = estimator.recommend(list(data.X_str.iloc[:3, 0]), k=3)
    assert all(isinstance(i, str) for i in ids.ravel()), (
        "recommend must return the raw string ids"
    )
    assert np.isfinite(estimator.predict(data.X_str)).all(), "predict failed on str ids"


def check_reproducible(estimator, data):
    """Two fits with the same random_state give identical scores."""
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=0)
    first = _fit(clone(estimator), data.X_train, data.y_train)
    second = _fit(clone(estimator), data.X_train, data.y_train)
    users = np.asarray(first.users_)[:10]
    np.testing.assert_allclose(
        first.score_items(users),
        second.score_items(users),
        rtol=1e-5,
        atol=1e-6,
        err_msg="two fits with the same random_state differ",
    )


def check_persistence(estimator, data):
    """pickle and deepcopy keep a fitted model's recommendations."""
    _fit(estimator, data.X_train, data.y_train)
    users = np.asarray(estimator.users_)[:10]
    ids, scores = estimator.recommend(users, k=5)
    for name, restored in (
        ("pickle", pickle.loads(pickle.dumps(estimator))),
        ("deepcopy", copy.deepcopy(estimator)),
    ):
        ids2, scores2 = restored.recommend(users, k=5)
        np.testing.assert_array_equal(ids, ids2, err_msg=f"{name} changed recommend")
        np.testing.assert_allclose(scores, scores2, err_msg=f"{name} changed scores")


def check_params_after_fit(estimator, data):
    """get_params() names the same parameters unfitted, fitted, cloned, unpickled."""
    fresh = type(estimator)(**estimator.get_params(deep=False))
    expected = set(estimator.get_params())
    _fit(estimator, data.X_train, data.y_train)
    for name, model in (
        ("a freshly constructed model", fresh),
        ("the fitted model", estimator),
        ("a clone of the fitted model", clone(estimator)),
        ("the fitted model after pickling", pickle.loads(pickle.dumps(estimator))),
    ):
        keys = set(model.get_params())
        if keys != expected:
            added, lost = sorted(keys - expected), sorted(expected - keys)
            raise AssertionError(
                f"get_params() of {name} differs from the unfitted model's "
                f"(added {added}, lost {lost}): fit must not change which "
                "parameters an estimator has"
            )


def check_grid_search(estimator, data):
    """GridSearchCV with ranking scorers and a UserKFold split runs."""
    from ..metrics import get_scorer
    from ..model_selection import UserKFold

    params = estimator.get_params(deep=False)
    grid = {name: [value] for name, value in list(params.items())[:1]}
    search = GridSearchCV(
        estimator,
        grid,
        scoring={"p": get_scorer("precision@5"), "auc": get_scorer("auc")},
        refit="p",
        cv=UserKFold(2, random_state=0),
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search.fit(data.X, data.y)
    assert np.isfinite(search.best_score_), "GridSearchCV gave a non-finite score"
    assert hasattr(search.best_estimator_, "items_"), "the refit model is not fitted"


def check_pipeline(estimator, data):
    """The model works as the last step of a Pipeline."""
    from ..metrics import get_scorer

    # The (user, item) columns, and the time column a sequential model reads.
    n_columns = 3 if _is_sequential(estimator) else 2
    pipe = Pipeline(
        [
            ("ids", FunctionTransformer(lambda X: X.iloc[:, :n_columns])),
            ("model", estimator),
        ]
    )
    _fit(pipe, data.X_train, data.y_train)
    value = get_scorer("recall@10")(pipe, data.X_test, data.y_test)
    assert 0.0 <= value <= 1.0, "a ranking scorer on a Pipeline must work"
    assert pipe.predict(data.X_test).shape == (len(data.X_test),)


def check_item_features(estimator, data):
    """Items only in item_features join the catalog and can be recommended."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(data.X_train, data.y_train, item_features=data.item_features)
    assert set(data.cold_items) <= set(np.asarray(estimator.items_).tolist()), (
        "items present only in item_features must be in items_"
    )
    user = np.asarray(estimator.users_)[0]
    scores = estimator.score_items([user], items=data.cold_items)
    assert np.isfinite(scores).all(), "a cold item must get a finite score"
    ids, _ = estimator.recommend([user], k=2, candidates=data.cold_items)
    assert set(ids[0].tolist()) == set(data.cold_items), (
        "a cold item must be recommendable"
    )


def check_explain(estimator, data):
    """explain returns (reason, weight) rows, best first; unknown ids give none."""
    if not callable(getattr(estimator, "explain", None)):
        return
    _fit(estimator, data.X_train, data.y_train)
    user = np.asarray(estimator.users_)[0]
    item = np.asarray(estimator.items_)[1]
    frame = estimator.explain(user, item, n=3)
    assert isinstance(frame, pd.DataFrame), "explain must return a DataFrame"
    assert list(frame.columns) == ["reason", "weight"], (
        "explain must return the columns reason and weight"
    )
    assert len(frame) <= 3, "explain must return at most n reasons"
    assert (np.diff(frame["weight"].to_numpy()) <= 1e-12).all(), (
        "explain must list the largest weight first"
    )
    assert estimator.explain(10**9, item).empty, "an unknown user has no reasons"


def _is_sequential(estimator) -> bool:
    from ..models._sequential import is_sequential

    return is_sequential(estimator)


def _walks(n_users=40, n_items=12, length=8, seed=0, reverse=False):
    """Users walking a cycle of items in steps of +1: order is the signal.

    Each user starts at a random item and visits ``length`` items ``a, a+1,
    ...`` (mod ``n_items``); the time column counts the steps (backwards
    when ``reverse``). Every item is equally popular, so only the order
    tells which item follows which.
    """
    rng = np.random.default_rng(seed)
    starts = rng.integers(n_items, size=n_users)
    steps = np.arange(length)
    items = (starts[:, None] + steps) % n_items
    times = np.tile(steps[::-1] if reverse else steps, (n_users, 1))
    frame = pd.DataFrame(
        {
            "user": np.repeat(np.arange(n_users), length),
            "item": items.ravel(),
            "time": 1_000 + times.ravel(),
        }
    )
    # Rows shuffled: the order must come from the time column.
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def check_sequence_order(estimator, data):
    """A sequential model reads order: by time_column in fit, as given in history."""
    if not _is_sequential(estimator):
        return
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=0)
    if "time_column" in estimator.get_params(deep=False):  # (composites: members')
        estimator.set_params(time_column=2)
    forward = _fit(clone(estimator), _walks())
    backward = _fit(clone(estimator), _walks(reverse=True))
    users = np.asarray(forward.users_)[:10]
    if np.allclose(forward.score_items(users), backward.score_items(users)):
        raise AssertionError(
            "fitting the same rows with the time order reversed gave the same "
            "scores: the model must order each user's rows by time_column"
        )
    rows = _walks()
    unsorted = _fit(clone(estimator), rows)
    again = _fit(clone(estimator), rows.sort_values("time", kind="stable"))
    np.testing.assert_allclose(
        unsorted.score_items(users),
        again.score_items(users),
        rtol=1e-4,
        atol=1e-5,
        err_msg="the order of the rows of X changed the model although their "
        "times did not: order each user's rows by time_column",
    )
    session = 10**9
    ascending, _ = forward.recommend([session], k=3, history=[[0, 1, 2]])
    descending, _ = forward.recommend([session], k=3, history=[[2, 1, 0]])
    other, _ = forward.recommend([session], k=3, history=[[6, 7, 8]])
    assert ascending.tolist() != other.tolist(), (
        "two anonymous sessions with different items got the same "
        "recommendations: a session's history must be its sequence"
    )
    assert ascending.tolist() != descending.tolist(), (
        "the same session items in another order gave the same "
        "recommendations: history must be read in order"
    )


def check_sklearn_estimator_checks(estimator, data, expected_failed_checks=None):
    """scikit-learn's own estimator checks, minus documented exceptions."""
    from sklearn.utils.estimator_checks import check_estimator

    expected = {**SKLEARN_EXPECTED_FAILURES, **(expected_failed_checks or {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(
            estimator, expected_failed_checks=expected, on_fail=None, on_skip=None
        )
    failed = [
        f"{r['check_name']}: {r['exception']}"
        for r in results
        if r["status"] == "failed" and r["check_name"] not in expected
    ]
    assert not failed, "scikit-learn checks failed:\n" + "\n".join(failed)


_CHECKS = [
    check_sklearn_api,
    check_unfitted_raises,
    check_fitted_attributes,
    check_predict,
    check_score_items,
    check_recommend,
    check_candidates_and_padding,
    check_unknown_users,
    check_score,
    check_bad_input,
    check_inputs_not_modified,
    check_string_ids,
    check_reproducible,
    check_persistence,
    check_params_after_fit,
    check_grid_search,
    check_pipeline,
    check_item_features,
    check_explain,
    check_sequence_order,
    check_sklearn_estimator_checks,
]


def check_recommender(estimator, *, expected_failed_checks=None):
    """Check that ``estimator`` honours the whole sk_recsys recommender contract.

    Runs, on small synthetic data: the sklearn API (``clone``,
    ``get_params``/``set_params``), ``NotFittedError`` before fit, the fitted
    attributes (``users_``, ``items_``, ``n_users_``, ``n_items_``,
    ``interactions_``), ``predict``/``score_items``/``recommend``/``score``
    shapes and semantics (best first, seen items excluded, candidates,
    padding, unknown users and items, ``history``), one-sentence
    ``ValueError`` on bad input, untouched inputs, string ids,
    reproducibility under ``random_state``, pickle and deepcopy, the same
    ``get_params()`` names for a fresh, a fitted, a cloned and an unpickled
    model,
    ``GridSearchCV`` with ranking scorers and ``UserKFold``, a ``Pipeline``,
    items only in ``item_features`` (cold items) joining the catalog,
    ``explain`` when the model has it, for sequential models (those with a
    ``time_column`` parameter) that the time order and the order of a
    session's ``history`` matter, and scikit-learn's own estimator
    checks (except :data:`SKLEARN_EXPECTED_FAILURES`).

    Parameters
    ----------
    estimator : recommender
        An unfitted instance; it is cloned, never modified.
    expected_failed_checks : dict of str to str, default=None
        Checks (sk_recsys or scikit-learn names) the estimator is known to
        fail, each with the reason; they are skipped. An estimator may also
        declare its own in a method ``_expected_failed_checks()`` (the
        neural models list skorch's by-design departures there).

    Raises
    ------
    AssertionError
        Naming the first check that failed and the rule it enforces.

    Examples
    --------
    >>> from sk_recsys.models import Popularity
    >>> from sk_recsys.utils.estimator_checks import check_recommender
    >>> check_recommender(Popularity())  # raises if a rule is broken
    """
    expected = {
        **getattr(estimator, "_expected_failed_checks", dict)(),
        **(expected_failed_checks or {}),
    }
    data = _Data()
    name = type(estimator).__name__
    for check in _CHECKS:
        if check.__name__ in expected:
            continue
        kwargs = {}
        if check is check_sklearn_estimator_checks:
            kwargs["expected_failed_checks"] = expected
        try:
            check(clone(estimator), data, **kwargs)
        except AssertionError as exc:
            raise AssertionError(
                f"{name} failed {check.__name__} ({check.__doc__.strip()}): {exc}"
            ) from exc
        except Exception as exc:
            raise AssertionError(
                f"{name} failed {check.__name__} ({check.__doc__.strip()}): raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
