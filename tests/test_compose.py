"""CandidateRanker and RankFusion: the contract, leak-free training, tuning."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sk_recsys.compose import CandidateRanker, RankFusion
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import UserKFold, train_test_split
from sk_recsys.models import EASE, ItemKNN, Popularity, SASRec
from sk_recsys.utils.estimator_checks import check_recommender


@pytest.fixture(scope="module")
def data():
    return make_interactions(
        n_users=150, n_items=70, interactions_per_user=14, random_state=0
    )


def _ranker(**params):
    return CandidateRanker(
        [EASE(), ItemKNN()], n_candidates=20, random_state=0, **params
    )


# ------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "model",
    [
        CandidateRanker([EASE(), ItemKNN()], n_candidates=15),
        CandidateRanker(
            ItemKNN(),
            make_pipeline(SimpleImputer(), LogisticRegression()),
            n_candidates=15,
            features=["scores", "popularity", "activity"],
        ),
        RankFusion([EASE(), ItemKNN()]),
        RankFusion([EASE(), Popularity()], method="weighted", weights=[2.0, 1.0]),
    ],
    ids=["ranker", "ranker-single-logistic", "rrf", "weighted"],
)
def test_composites_pass_check_recommender(model):
    check_recommender(model)


def test_composite_of_a_sequential_model_is_checked_as_sequential():
    # The kit's order rule applies: the session order reaches SASRec.
    check_recommender(
        CandidateRanker(
            [SASRec(max_epochs=3, random_state=0), ItemKNN()], n_candidates=15
        )
    )


# ---------------------------------------------------- nested parameters


def test_get_params_nests_through_list_members():
    model = _ranker(ranker=LogisticRegression(C=2.0))
    params = model.get_params()
    assert params["generators__0"] is model.generators[0]
    assert params["generators__1__n_neighbors"] == ItemKNN().n_neighbors
    assert params["ranker__C"] == 2.0
    assert "generators__2" not in params


def test_set_params_reaches_members_without_touching_the_callers_list():
    members = [EASE(), ItemKNN()]
    model = CandidateRanker(members)
    model.set_params(generators__1__n_neighbors=7, generators__0=Popularity())
    assert model.generators[1].n_neighbors == 7
    assert isinstance(model.generators[0], Popularity)
    assert isinstance(members[0], EASE), "the caller's list must not change"
    with pytest.raises(ValueError, match="numbered 0 to 1"):
        model.set_params(generators__5__l2=1.0)


def test_grid_search_tunes_both_stages_in_parallel(data):
    X_train, _ = train_test_split(data.X, test_size=0.2, random_state=0)
    search = GridSearchCV(
        _ranker(ranker=HistGradientBoostingClassifier(random_state=0)),
        {"generators__1__n_neighbors": [5, 20], "ranker__max_leaf_nodes": [4, 8]},
        scoring=get_scorer("ndcg@10"),
        cv=UserKFold(2, random_state=0),
        n_jobs=2,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search.fit(X_train)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert (
        best.generators_[1].n_neighbors
        == search.best_params_["generators__1__n_neighbors"]
    )
    assert best.ranker_.max_leaf_nodes == search.best_params_["ranker__max_leaf_nodes"]


# ------------------------------------------------------------ training


class _Spy(ClassifierMixin, BaseEstimator):
    """A ranker recording what it learns from (scores by g0_rank)."""

    def fit(self, X, y):
        self.X_, self.y_ = X.copy(), np.asarray(y)
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, X):
        return -X["g0_rank"].to_numpy()


_FITS = []  # the rows of each _Recording fit (clone copies parameters)


class _Recording(Popularity):
    """A generator recording the rows of each of its fits in ``_FITS``."""

    def fit(self, X, y=None, **fit_params):
        _FITS.append(pd.DataFrame(X).copy())
        return super().fit(X, y, **fit_params)


@pytest.fixture
def fits():
    _FITS.clear()
    return _FITS


def _pair_ids(users, items):
    return pd.DataFrame({"pair_user": users, "pair_item": items}).astype(float)


def _label_pairs(model) -> set:
    """The (user, item) pairs labelled 1 in the ranker's training set."""
    frame = model.ranker_.X_.assign(label=model.ranker_.y_)
    pairs = frame.loc[frame.label == 1, ["pair_user", "pair_item"]].astype(int)
    return set(map(tuple, pairs.to_numpy().tolist()))


def _pairs(X) -> set:
    return set(map(tuple, X.iloc[:, :2].to_numpy().tolist()))


def _spy_ranker(generators, **params):
    return CandidateRanker(
        generators,
        _Spy(),
        n_candidates=70,  # the whole catalog: every held-out item is a candidate
        features=["scores"],
        extra_features=_pair_ids,
        random_state=0,
        **params,
    )


def test_labels_never_come_from_rows_outside_fit(data):
    X_train, X_test = train_test_split(data.X, test_size=0.25, random_state=0)
    model = _spy_ranker([_Recording(), ItemKNN()]).fit(X_train)
    labels = _label_pairs(model)
    assert labels, "the ranker must see positives"
    assert labels <= _pairs(X_train), "a label must be a training row"
    assert not labels & (_pairs(X_test) - _pairs(X_train)), (
        "a test row reached the ranker's labels"
    )


@pytest.mark.parametrize("strategy", ["time", "random"])
def test_generators_of_the_training_stage_never_see_the_label_rows(
    data, strategy, fits
):
    model = _spy_ranker(_Recording(), holdout_strategy=strategy).fit(data.X)
    early, full = fits  # the training-stage fit, then the refit on every row
    assert len(full) == len(data.X) and len(early) < len(data.X)
    assert not _label_pairs(model) & _pairs(early)


def test_time_holdout_labels_each_users_latest_rows(data, fits):
    model = _spy_ranker(_Recording(), holdout=2).fit(data.X)
    ordered = data.X.sort_values(["user_id", "timestamp"], kind="stable")
    latest = ordered.groupby("user_id").tail(2)
    earlier = ordered.drop(latest.index)
    # Every user's two latest rows are labels, unless the item came earlier.
    assert _label_pairs(model) == _pairs(latest) - _pairs(earlier)
    # and the generators of the training stage saw exactly the earlier rows.
    assert _pairs(fits[0]) == _pairs(earlier)


def test_random_rounds_label_every_row_once(data):
    X = data.X.iloc[:, :2]
    model = _spy_ranker(Popularity(), holdout=0.25, n_rounds=4).fit(X)
    one_round = _spy_ranker(Popularity(), holdout=0.25).fit(X)
    # Disjoint blocks of a quarter, while each user keeps a row for the
    # generators: most distinct pairs label once.
    assert _label_pairs(one_round) < _label_pairs(model)
    assert len(_label_pairs(model)) > 2.5 * len(_label_pairs(one_round))


def test_candidates_rank_above_the_rest_and_score_items_agrees(data):
    model = _ranker().fit(data.X)
    users = np.asarray(model.users_[:20])
    ids, scores = model.recommend(users, k=10)
    full = model.score_items(users)
    column = {item: j for j, item in enumerate(model.items_)}
    for row in range(len(users)):
        assert np.allclose(full[row, [column[i] for i in ids[row]]], scores[row])
    # Each list is drawn from the union of the generators' candidate lists.
    for row, user in enumerate(users[:5]):
        proposed = set()
        for generator in model.generators_:
            proposed |= set(generator.recommend([user], k=20)[0][0].tolist())
        assert set(ids[row].tolist()) <= proposed


def test_side_features_reach_the_ranker():
    data = make_interactions(
        n_users=100, n_items=60, interactions_per_user=12, random_state=1
    )
    users = pd.DataFrame(
        {
            "age": np.arange(100, dtype=float),
            "group": pd.Categorical(np.arange(100) % 3),
            "bio": [f"text {i}" for i in range(100)],  # 100 distinct: free text
        },
        index=np.arange(100),
    )
    X = data.X.assign(device=np.where(np.arange(len(data.X)) % 2, "web", "app"))
    model = _ranker().fit(X, item_features=data.item_features, user_features=users)
    names = model.feature_names_
    assert {"user_age", "user_group", "context_device", "item_age"} <= set(names)
    assert "user_bio" not in names
    assert "user_item_time_gap" in names
    assert model.ranker_.n_features_in_ == len(names)
    # Unknown users served from a history get the side features as missing.
    ids, _ = model.recommend([10**6], k=5, history=[list(data.X.iloc[:3, 1])])
    assert (ids >= 0).all()


def test_feature_groups_and_extra_features(data):
    model = _ranker(
        features=["scores", "popularity"],
        extra_features=lambda users, items: pd.DataFrame({"parity": items % 2}),
    ).fit(data.X)
    assert model.feature_names_ == [
        "g0_score",
        "g0_rank",
        "g1_score",
        "g1_rank",
        "item_popularity",
        "parity",
    ]


def test_learning_to_rank_model_gets_one_query_per_user(data):
    lightgbm = pytest.importorskip("lightgbm")
    model = _ranker(
        ranker=lightgbm.LGBMRanker(
            n_estimators=10, min_child_samples=5, verbose=-1, random_state=0
        )
    ).fit(data.X)
    ids, _ = model.recommend(np.asarray(model.users_[:3]), k=5)
    assert ids.shape == (3, 5)


def test_bad_parameters_are_one_sentence_errors(data):
    with pytest.raises(ValueError, match="Unknown feature group"):
        _ranker(features=["scores", "colour"]).fit(data.X)
    with pytest.raises(ValueError, match="ranker is a str"):
        _ranker(ranker="gbm").fit(data.X)
    with pytest.raises(ValueError, match="at least one recommender"):
        CandidateRanker([]).fit(data.X)
    with pytest.raises(ValueError, match="RecommenderMixin"):
        CandidateRanker([LogisticRegression()]).fit(data.X)
    with pytest.raises(ValueError, match="n_candidates"):
        CandidateRanker([EASE()], n_candidates=0).fit(data.X)
    with pytest.raises(ValueError, match="needs a time column"):
        _ranker(holdout_strategy="time").fit(data.X.iloc[:, :2])
    with pytest.raises(ValueError, match="one per recommender"):
        RankFusion([EASE(), ItemKNN()], weights=[1.0]).fit(data.X)
    with pytest.raises(ValueError, match="method"):
        RankFusion([EASE()], method="mean").fit(data.X)


def test_untrainable_ranker_falls_back_to_the_first_generator_with_a_warning():
    X = [[u, u % 7] for u in range(30)]  # one row per user: nothing to hold out
    with pytest.warns(UserWarning, match="could not train its ranker"):
        model = CandidateRanker([Popularity(), ItemKNN()]).fit(X)
    assert model.ranker_ is None
    expected = Popularity().fit(X).recommend([0, 1], k=3)[0]
    np.testing.assert_array_equal(model.recommend([0, 1], k=3)[0], expected)


# ---------------------------------------------------------------- fusion


def test_rrf_matches_the_formula_by_hand(data):
    members = [EASE(), ItemKNN()]
    fused = RankFusion(members, rrf_k=5.0).fit(data.X)
    users = np.asarray(fused.users_[:3])
    expected = np.zeros((len(users), fused.n_items_))
    for member in members:
        scores = clone(member).fit(data.X).score_items(users)
        for row, user in enumerate(users):
            seen = fused.interactions_[list(fused.users_).index(user)].indices
            scores[row, seen] = -np.inf
            order = np.argsort(-scores[row], kind="stable")
            expected[row, order] += 1.0 / (5.0 + np.arange(1, len(order) + 1))
    np.testing.assert_allclose(fused.score_items(users), expected, rtol=1e-5)


def test_weighted_fusion_with_one_nonzero_weight_is_that_model(data):
    fused = RankFusion([EASE(), ItemKNN()], method="weighted", weights=[0.0, 1.0])
    fused.fit(data.X)
    alone = ItemKNN().fit(data.X)
    users = np.asarray(alone.users_[:10])
    np.testing.assert_array_equal(
        fused.recommend(users, k=5)[0], alone.recommend(users, k=5)[0]
    )


@pytest.mark.parametrize("normalization", ["minmax", "zscore"])
def test_weighted_fusion_is_invariant_to_a_members_scale(data, normalization):
    class Scaled(EASE):
        def _score_users(self, users):
            return 1000.0 * super()._score_users(users) + 5.0

    users = np.arange(10)
    plain = RankFusion([EASE(), ItemKNN()], "weighted", normalization=normalization)
    scaled = RankFusion([Scaled(), ItemKNN()], "weighted", normalization=normalization)
    np.testing.assert_array_equal(
        plain.fit(data.X).recommend(users, k=5)[0],
        scaled.fit(data.X).recommend(users, k=5)[0],
    )


def test_fusion_folds_in_a_history_through_its_members(data):
    fused = RankFusion([EASE(), ItemKNN()]).fit(data.X)
    session = list(data.X.iloc[:4, 1])
    ids, _ = fused.recommend([10**6], k=5, history=[session])
    popular, _ = Popularity().fit(data.X).recommend([10**6], k=5)
    assert not set(ids[0]) & set(session)
    assert ids[0].tolist() != popular[0].tolist()
