"""Every registered model passes the conformance kit, and the kit can fail."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_recsys.base import RecommenderMixin
from sk_recsys.models import (
    EASE,
    DeepMF,
    ItemKNN,
    MatrixFactorization,
    NeuMF,
    Popularity,
    UserKNN,
)
from sk_recsys.plugins import available_models, get_model
from sk_recsys.utils.estimator_checks import (
    SKLEARN_EXPECTED_FAILURES,
    check_recommender,
)


@pytest.mark.parametrize("name", sorted(available_models()))
def test_registered_model_passes_check_recommender(name):
    check_recommender(get_model(name))


def _expected(estimator):
    return {
        **SKLEARN_EXPECTED_FAILURES,
        **getattr(estimator, "_expected_failed_checks", dict)(),
    }


@parametrize_with_checks(
    [
        Popularity(),
        ItemKNN(),
        UserKNN(),
        EASE(),
        MatrixFactorization(max_epochs=3),
        NeuMF(max_epochs=3),
        DeepMF(max_epochs=3),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


class RecommendsSeenItems(RecommenderMixin, BaseEstimator):
    """Breaks the exclude_seen rule: returns the most popular items regardless."""

    def fit(self, X, y=None, **fit_params):
        self._fit_interactions(X, y, **fit_params)
        return self

    def _score_users(self, users):
        return np.tile(self.item_popularity_.astype(float), (len(users), 1))

    def recommend(self, users, k=10, **kwargs):
        kwargs["exclude_seen"] = False
        return super().recommend(users, k, **kwargs)


class ValidatesInInit(RecommenderMixin, BaseEstimator):
    """Breaks the sklearn rule that __init__ stores parameters verbatim."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha
        self.scale = 2 * alpha

    def fit(self, X, y=None, **fit_params):
        self._fit_interactions(X, y, **fit_params)
        return self

    def _score_users(self, users):
        return np.zeros((len(users), self.n_items_))


def test_the_kit_names_the_broken_rule():
    with pytest.raises(
        AssertionError, match=r"check_recommend.*returned a training item"
    ):
        check_recommender(RecommendsSeenItems())
    with pytest.raises(AssertionError, match="check_no_attributes_set_in_init"):
        check_recommender(ValidatesInInit())


def test_expected_failures_are_skipped_by_name():
    check_recommender(
        RecommendsSeenItems(),
        expected_failed_checks={
            "check_recommend": "demonstration",
            "check_candidates_and_padding": "demonstration",
            "check_unknown_users": "demonstration",
        },
    )


class GrowsParamsInFit(MatrixFactorization):
    """Breaks the parameter-set rule: fit adds a callback that get_params lists."""

    def initialize_callbacks(self):
        from skorch.callbacks import EpochTimer

        super().initialize_callbacks()
        self.callbacks_.append(("late_timer", EpochTimer()))
        return self


def test_the_kit_catches_parameters_that_appear_in_fit():
    with pytest.raises(
        AssertionError, match=r"check_params_after_fit.*callbacks__late_timer"
    ):
        check_recommender(GrowsParamsInFit(n_factors=4, max_epochs=1))


@pytest.mark.parametrize(
    "name", ["mf", "neumf", "dmf", "content", "hybrid", "multitask"]
)
def test_fitted_neural_model_and_its_clone_have_the_same_parameters(name):
    from sklearn.base import clone

    from sk_recsys.datasets import make_interactions

    data = make_interactions(
        n_users=30, n_items=20, interactions_per_user=6, random_state=0
    )
    model = get_model(name).set_params(max_epochs=1)
    fresh = set(model.get_params())
    assert "callbacks__finite_loss_guard" in fresh
    fit_params = {}
    if name in ("content", "hybrid"):
        fit_params["item_features"] = data.item_features
    model.fit(data.X, data.y, **fit_params)
    assert set(model.get_params()) == fresh
    assert set(clone(model).get_params()) == fresh
    # A grid over the guard's setting applies to a fresh estimator too.
    clone(model).set_params(callbacks__finite_loss_guard=None)


class IgnoresOrder(ItemKNN):
    """Claims the sequence contract (a time_column) but reads a bag of items."""

    def __init__(self, n_neighbors=200, shrinkage=10.0, time_column=2):
        super().__init__(n_neighbors=n_neighbors, shrinkage=shrinkage)
        self.time_column = time_column


def test_the_kit_catches_a_sequential_model_that_ignores_order():
    with pytest.raises(
        AssertionError, match=r"check_sequence_order.*time order reversed"
    ):
        check_recommender(IgnoresOrder())
