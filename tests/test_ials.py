"""ImplicitALS: the least-squares math, the solvers, fold-in and explanations."""

import warnings

import numpy as np
import pytest
import torch

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import ImplicitALS, Popularity


@pytest.fixture(scope="module")
def split():
    X, _ = make_interactions(300, 120, random_state=0, return_X_y=True)
    return train_test_split(X, random_state=0)


def _weighted_least_squares(counts, others, model):
    """Each row's exact minimiser, by numpy over every cell (dense)."""
    alpha, l2, power = model.alpha, model.l2, model.l2_exponent
    solutions = []
    for row in counts:
        confidence = 1.0 + alpha * row
        preference = (row > 0).astype(float)
        penalty = l2 * confidence.sum() ** power
        # min sum_i c_i (p_i - y_i . x)^2 + penalty |x|^2, as one lstsq
        weight = np.sqrt(confidence)[:, None]
        design = np.vstack([weight * others, np.sqrt(penalty) * np.eye(len(others[0]))])
        target = np.concatenate(
            [np.sqrt(confidence) * preference, np.zeros(len(others[0]))]
        )
        solutions.append(np.linalg.lstsq(design, target, rcond=None)[0])
    return np.array(solutions)


def test_fitted_users_are_the_exact_least_squares_solution(split):
    X_train, _ = split
    model = ImplicitALS(n_factors=6, max_iter=3, alpha=5.0, random_state=0)
    model.fit(X_train)
    counts = model.interactions_.toarray()
    expected = _weighted_least_squares(counts, model.item_factors_.astype(float), model)
    np.testing.assert_allclose(model.user_factors_, expected, atol=2e-4)


def test_weights_raise_the_confidence_of_their_entries():
    X = [[0, 0], [0, 1], [1, 0], [2, 1], [2, 2]]
    y = np.array([1.0, 9.0, 1.0, 1.0, 3.0])
    model = ImplicitALS(n_factors=2, max_iter=2, alpha=2.0, l2_exponent=0.0)
    model.set_params(confidence="log", eps=0.5, random_state=0).fit(X, y)
    counts = np.log1p(model.interactions_.toarray() / 0.5)
    expected = _weighted_least_squares(counts, model.item_factors_.astype(float), model)
    np.testing.assert_allclose(model.user_factors_, expected, atol=2e-4)


def test_history_fold_in_is_the_exact_solve_for_a_new_user(split):
    X_train, _ = split
    model = ImplicitALS(n_factors=6, max_iter=3, random_state=0).fit(X_train)
    history = model.items_[[3, 17, 40]]
    row = np.isin(model.items_, history).astype(float)[None]
    vector = _weighted_least_squares(row, model.item_factors_.astype(float), model)
    expected = vector @ model.item_factors_.T
    items, scores = model.recommend(
        [10_000], k=5, history=[list(history)], exclude_seen=False
    )
    top = np.argsort(-expected[0], kind="stable")[:5]
    assert items[0].tolist() == model.items_[top].tolist()
    np.testing.assert_allclose(scores[0], expected[0, top], atol=1e-4)


def test_a_fitted_user_is_the_fold_in_of_their_history(split):
    X_train, _ = split
    model = ImplicitALS(n_factors=6, max_iter=3, random_state=0).fit(X_train)
    user = model.users_[0]
    seen = model.items_[model.interactions_[0].indices]
    stranger = model.recommend([10_000], k=5, history=[list(seen)])
    np.testing.assert_allclose(stranger[1], model.recommend([user], k=5)[1], atol=1e-4)


def test_conjugate_gradient_with_enough_steps_matches_the_exact_solver(split):
    X_train, _ = split
    exact = ImplicitALS(n_factors=4, max_iter=2, random_state=0).fit(X_train)
    cg = ImplicitALS(n_factors=4, max_iter=2, solver="cg", cg_steps=12, random_state=0)
    cg.fit(X_train)
    np.testing.assert_allclose(cg.user_factors_, exact.user_factors_, atol=1e-3)
    np.testing.assert_allclose(cg.item_factors_, exact.item_factors_, atol=1e-3)


def test_ranks_better_than_popularity(split):
    X_train, X_test = split
    ndcg = get_scorer("ndcg@10")
    model = ImplicitALS(n_factors=8, random_state=0).fit(X_train)
    cg = ImplicitALS(n_factors=8, solver="cg", random_state=0).fit(X_train)
    baseline = ndcg(Popularity().fit(X_train), X_test)
    assert ndcg(model, X_test) > baseline
    assert ndcg(cg, X_test) > baseline


def test_explanation_adds_up_to_the_score(split):
    X_train, _ = split
    model = ImplicitALS(n_factors=6, max_iter=3, random_state=0).fit(X_train)
    user, item = model.users_[5], model.items_[9]
    n_seen = model.interactions_[5].nnz
    explanation = model.explain(user, item, n=n_seen)
    assert len(explanation) == n_seen
    assert set(explanation["reason"]) == set(
        model.items_[model.interactions_[5].indices]
    )
    score = model.score_items([user], [item])[0, 0]
    assert explanation["weight"].sum() == pytest.approx(score, abs=1e-4)


def test_same_seed_same_model():
    X, _ = make_interactions(80, 40, random_state=1, return_X_y=True)
    first = ImplicitALS(n_factors=4, max_iter=2, random_state=7).fit(X)
    second = ImplicitALS(n_factors=4, max_iter=2, random_state=7).fit(X)
    other = ImplicitALS(n_factors=4, max_iter=2, random_state=8).fit(X)
    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)
    assert not np.allclose(first.item_factors_, other.item_factors_)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        ImplicitALS().fit([[0, 0], [1, 1]], [1.0, -2.0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_fit_matches_cpu(split):
    X_train, _ = split
    cpu = ImplicitALS(n_factors=6, max_iter=2, random_state=0).fit(X_train)
    gpu = ImplicitALS(n_factors=6, max_iter=2, random_state=0, device="cuda")
    gpu.fit(X_train)
    np.testing.assert_allclose(gpu.user_factors_, cpu.user_factors_, atol=1e-3)


def test_items_without_interactions_get_zero_vectors():
    import pandas as pd

    X = [[0, "tea"], [0, "jam"], [1, "tea"], [2, "jam"]]
    features = pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=["tea", "jam", "pie"])
    model = ImplicitALS(n_factors=2, max_iter=2, random_state=0)
    model.fit(X, item_features=features)
    pie = list(model.items_).index("pie")
    np.testing.assert_array_equal(model.item_factors_[pie], 0.0)
    assert np.abs(np.delete(model.item_factors_, pie, axis=0)).sum() > 0


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_a_collapsing_fit_stops_early_at_exact_zeros_and_warns(split, solver):
    # l2=5 shrinks these vectors about 30x an iteration. Run on, they would
    # cross float32's subnormal range (entries 1e-18..1e-20 after 10
    # iterations), where every product runs many times slower; the fit stops
    # once no score can reach 2**-23, and says so.
    X_train, _ = split
    model = ImplicitALS(n_factors=8, l2=5.0, max_iter=30, solver=solver, random_state=0)
    with pytest.warns(UserWarning, match="the fit collapsed"):
        model.fit(X_train)
    assert model.n_iter_ < 5
    assert not model.item_factors_.any() and not model.user_factors_.any()
    np.testing.assert_array_equal(model.predict(X_train.iloc[:5]), 0.0)


@pytest.mark.parametrize("l2", [0.01, 0.7])
def test_a_fit_that_does_not_collapse_runs_every_iteration(split, l2):
    # 0.7 is near the edge here (0.8 collapses): its scores settle near 0.05.
    X_train, _ = split
    model = ImplicitALS(n_factors=8, l2=l2, max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X_train)
    assert model.n_iter_ == 40
    assert model.predict(X_train.iloc[:5]).min() > 0.01
