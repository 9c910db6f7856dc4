"""Tests of the ranking, beyond-accuracy and rating metrics in sk_recsys.metrics.

Every ranking metric is checked against a slow reference written below with
plain Python loops and sorting, against scikit-learn where scikit-learn has
the same metric, and on small cases whose value is worked out by hand.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    ndcg_score,
    roc_auc_score,
)

from sk_recsys.metrics import (
    auc_score,
    catalog_coverage,
    f1_at_k,
    hit_rate_at_k,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)

INF = math.inf

TOP_K = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "f1": f1_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
}
TOP_K_NAMES = sorted(TOP_K)


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------
# slow, obviously-correct references


def _rows(y_true, y_score):
    """Plain Python lists: relevance flags (> 0) and float scores per row."""
    true = y_true.toarray() if sp.issparse(y_true) else np.asarray(y_true)
    score = np.asarray(y_score, dtype=float)
    rel = [[bool(v > 0) for v in row] for row in true.tolist()]
    return rel, [[float(v) for v in row] for row in score.tolist()]


def ref_top_k_hits(rel, score, k):
    """Relevance of the top-k rankable items; ties broken against the model."""
    m = len(score)
    order = sorted(range(m), key=lambda j: (-score[j], rel[j]))
    ranked = [j for j in order if score[j] != -INF]
    return [rel[j] for j in ranked[:k]]


def ref_row(metric, rel, score, k):
    """Value of a top-k metric on one row, None when it has no relevant item."""
    n_rel = sum(rel)
    if n_rel == 0:
        return None
    hits = ref_top_k_hits(rel, score, k)
    n_hits = sum(hits)
    precision, recall = n_hits / k, n_hits / n_rel
    if metric == "precision":
        return precision
    if metric == "recall":
        return recall
    if metric == "f1":
        return 0.0 if n_hits == 0 else 2 * precision * recall / (precision + recall)
    if metric == "hit_rate":
        return 1.0 if n_hits > 0 else 0.0
    if metric == "ndcg":
        dcg = sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(n_rel, k)))
        return dcg / ideal
    if metric == "map":
        total, found = 0.0, 0
        for r, h in enumerate(hits, start=1):
            if h:
                found += 1
                total += found / r
        return total / min(n_rel, k)
    if metric == "mrr":
        for r, h in enumerate(hits, start=1):
            if h:
                return 1 / r
        return 0.0
    raise AssertionError(metric)


def ref_auc_row(rel, score):
    """Pairwise ROC AUC over rankable items, ties 1/2; None if undefined."""
    pos = [s for r, s in zip(rel, score, strict=True) if r and s != -INF]
    neg = [s for r, s in zip(rel, score, strict=True) if not r and s != -INF]
    if not pos or not neg:
        return None
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(pos) * len(neg))


def _mean_defined(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else math.nan


def ref_metric(metric, y_true, y_score, k=None):
    rel, score = _rows(y_true, y_score)
    if metric == "auc":
        rows = [ref_auc_row(r, s) for r, s in zip(rel, score, strict=True)]
    else:
        rows = [ref_row(metric, r, s, k) for r, s in zip(rel, score, strict=True)]
    return _mean_defined(rows)


def ref_top_items(score, k):
    """Top-k rankable columns of one row, ties by column order."""
    order = sorted(range(len(score)), key=lambda j: (-score[j], j))
    return [j for j in order if score[j] != -INF][:k]


def compute(metric, y_true, y_score, k):
    if metric == "auc":
        return auc_score(y_true, y_score)
    return TOP_K[metric](y_true, y_score, k=k)


# --------------------------------------------------------------------------
# 1. agreement with scikit-learn on random data


SKLEARN_CASES = [
    # seed, (n_users, n_items), k
    (0, (5, 8), 3),
    (1, (20, 15), 5),
    (2, (10, 4), 10),  # k > n_items
    (3, (1, 6), 6),
    (4, (30, 50), 20),
    (5, (12, 2), 1),
]


def random_continuous(seed, shape, p_relevant=0.3):
    rng = np.random.default_rng(seed)
    y_true = (rng.random(shape) < p_relevant).astype(int)
    y_score = rng.standard_normal(shape)
    return y_true, y_score


@pytest.mark.parametrize(("seed", "shape", "k"), SKLEARN_CASES)
def test_ndcg_matches_sklearn_row_by_row(seed, shape, k):
    y_true, y_score = random_continuous(seed, shape)
    y_true[0, 0] = 1  # at least one row qualifies
    per_row = [
        ndcg_score(y_true[i : i + 1], y_score[i : i + 1], k=k)
        for i in range(shape[0])
        if y_true[i].any()
    ]
    assert ndcg_at_k(y_true, y_score, k=k) == approx(np.mean(per_row))


@pytest.mark.parametrize(("seed", "shape", "k"), SKLEARN_CASES)
def test_auc_matches_sklearn_row_by_row(seed, shape, k):
    y_true, y_score = random_continuous(seed, shape)
    y_true[0, 0], y_true[0, 1] = 1, 0  # at least one row has both classes
    per_row = [
        roc_auc_score(y_true[i], y_score[i])
        for i in range(shape[0])
        if 0 < y_true[i].sum() < shape[1]
    ]
    assert auc_score(y_true, y_score) == approx(np.mean(per_row))


@pytest.mark.parametrize(("seed", "shape", "k"), SKLEARN_CASES)
def test_auc_with_ties_matches_sklearn(seed, shape, k):
    y_true, y_score = random_continuous(seed, shape, p_relevant=0.5)
    y_true[0, 0], y_true[0, 1] = 1, 0
    y_score = np.round(y_score)  # a handful of levels: many ties
    per_row = [
        roc_auc_score(y_true[i], y_score[i])
        for i in range(shape[0])
        if 0 < y_true[i].sum() < shape[1]
    ]
    assert auc_score(y_true, y_score) == approx(np.mean(per_row))


@pytest.mark.parametrize(("seed", "shape", "k"), SKLEARN_CASES)
def test_auc_with_minus_inf_matches_sklearn_on_rankable_items(seed, shape, k):
    rng = np.random.default_rng(seed + 100)
    y_true, y_score = random_continuous(seed, shape, p_relevant=0.5)
    y_score[rng.random(shape) < 0.3] = -np.inf
    y_true[0, 0], y_true[0, 1] = 1, 0
    y_score[0, 0], y_score[0, 1] = 0.1, 0.2
    per_row = []
    for i in range(shape[0]):
        keep = np.isfinite(y_score[i])
        labels = y_true[i][keep]
        if 0 < labels.sum() < len(labels):
            per_row.append(roc_auc_score(labels, y_score[i][keep]))
    assert auc_score(y_true, y_score) == approx(np.mean(per_row))


@pytest.mark.parametrize(("seed", "shape", "k"), SKLEARN_CASES)
@pytest.mark.parametrize("metric", TOP_K_NAMES)
def test_top_k_matches_reference_on_random_data(metric, seed, shape, k):
    y_true, y_score = random_continuous(seed, shape)
    y_true[0, 0] = 1
    expected = ref_metric(metric, y_true, y_score, k)
    assert TOP_K[metric](y_true, y_score, k=k) == approx(expected)


# --------------------------------------------------------------------------
# 2. small cases worked out by hand

L2, L3, L4 = 1.0, 1 / math.log2(3), 0.5  # discounts 1/log2(r + 1) at r = 1, 2, 3

# One row: relevant items 0 and 2, ranked 0, 1, 2, 3.
ROW_TRUE = [[1, 0, 1, 0]]
ROW_SCORE = [[0.9, 0.8, 0.1, 0.0]]

HAND_ONE_ROW = [
    # k = 2: top 2 = items 0, 1 -> hits [1, 0]
    ("precision", 2, 1 / 2),  # 1 hit / k=2
    ("recall", 2, 1 / 2),  # 1 hit / 2 relevant
    ("f1", 2, 1 / 2),  # 2 * .5 * .5 / (.5 + .5)
    ("ndcg", 2, L2 / (L2 + L3)),  # 1 / (1 + 1/log2 3) = 0.6131
    ("map", 2, 1 / 2),  # (1/1) / min(2, 2)
    ("mrr", 2, 1.0),  # first relevant at rank 1
    ("hit_rate", 2, 1.0),
    # k = 3: top 3 = items 0, 1, 2 -> hits [1, 0, 1]
    ("precision", 3, 2 / 3),  # 2 hits / 3
    ("recall", 3, 1.0),  # 2 hits / 2 relevant
    ("f1", 3, 4 / 5),  # 2 * (2/3) * 1 / (2/3 + 1)
    ("ndcg", 3, (L2 + L4) / (L2 + L3)),  # (1 + 1/2) / (1 + 1/log2 3) = 0.9197
    ("map", 3, 5 / 6),  # (1/1 + 2/3) / min(2, 3)
    ("mrr", 3, 1.0),
    ("hit_rate", 3, 1.0),
    # k = 1: top 1 = item 0 -> hits [1]
    ("precision", 1, 1.0),
    ("recall", 1, 1 / 2),
    ("f1", 1, 2 / 3),  # 2 * 1 * .5 / 1.5
    ("ndcg", 1, 1.0),  # ideal = min(2, 1) = 1 relevant on top
    ("map", 1, 1.0),  # (1/1) / min(2, 1)
]


@pytest.mark.parametrize(("metric", "k", "expected"), HAND_ONE_ROW)
def test_hand_computed_one_row(metric, k, expected):
    assert TOP_K[metric](ROW_TRUE, ROW_SCORE, k=k) == approx(expected)


# Three rows; the third has no relevant item and is skipped.
# row 0: relevant item 1; top 2 = items 0, 1 -> hits [0, 1]
# row 1: relevant item 0; top 2 = items 2, 1 -> hits [0, 0]
MULTI_TRUE = [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
MULTI_SCORE = [[0.9, 0.8, 0.7], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]

HAND_MULTI_ROW = [
    ("precision", (1 / 2 + 0) / 2),  # 0.25
    ("recall", (1 + 0) / 2),  # 0.5
    ("f1", (2 / 3 + 0) / 2),  # row 0: 2 * .5 * 1 / 1.5
    ("ndcg", (L3 / L2 + 0) / 2),  # row 0: (1/log2 3) / 1
    ("map", (1 / 2 + 0) / 2),  # row 0: (1/2) / min(1, 2)
    ("mrr", (1 / 2 + 0) / 2),
    ("hit_rate", (1 + 0) / 2),
]


@pytest.mark.parametrize(("metric", "expected"), HAND_MULTI_ROW)
def test_hand_computed_mean_over_rows_with_a_relevant_item(metric, expected):
    assert TOP_K[metric](MULTI_TRUE, MULTI_SCORE, k=2) == approx(expected)


def test_hand_computed_auc():
    # row 0: relevant .8 vs .9, .7 -> 1 win of 2; row 1: .1 vs .2, .3 -> 0
    assert auc_score(MULTI_TRUE, MULTI_SCORE) == approx((1 / 2 + 0) / 2)
    # a tie counts one half: (.5 vs .5 -> 1/2) + (.5 vs .1 -> 1), over 2 pairs
    assert auc_score([[1, 0, 0]], [[0.5, 0.5, 0.1]]) == approx(0.75)
    # rows with one class only are skipped: row 1 all relevant, row 2 none
    assert auc_score(
        [[0, 1], [1, 1], [0, 0]], [[0.9, 0.1], [0.1, 0.2], [0.1, 0.2]]
    ) == approx(0.0)


# Ties broken against the model: items 0, 1, 2 tie; relevant item 1 goes last
# among them, so the ranking is 0, 2, 1, 3 -> hits [0, 0, 1, 1].
TIE_TRUE = [[0, 1, 0, 1]]
TIE_SCORE = [[1.0, 1.0, 1.0, 0.0]]

HAND_TIES = [
    ("precision", 2, 0.0),
    ("precision", 3, 1 / 3),
    ("recall", 3, 1 / 2),
    ("f1", 3, 2 / 5),  # 2 * (1/3) * (1/2) / (1/3 + 1/2)
    ("ndcg", 3, L4 / (L2 + L3)),  # (1/log2 4) / (1 + 1/log2 3) = 0.3066
    ("map", 3, 1 / 6),  # (1/3) / min(2, 3)
    ("mrr", 3, 1 / 3),
    ("hit_rate", 2, 0.0),
    ("hit_rate", 3, 1.0),
    # k = 4: hits [0, 0, 1, 1]
    ("map", 4, (1 / 3 + 2 / 4) / 2),
    ("ndcg", 4, (L4 + 1 / math.log2(5)) / (L2 + L3)),
]


@pytest.mark.parametrize(("metric", "k", "expected"), HAND_TIES)
def test_hand_computed_ties_against_the_model(metric, k, expected):
    assert TOP_K[metric](TIE_TRUE, TIE_SCORE, k=k) == approx(expected)


def test_ties_against_the_model_whatever_the_column_order():
    # The same tie with the relevant item first or last among the columns.
    for y_true in ([[1, 0, 0]], [[0, 0, 1]], [[0, 1, 0]]):
        assert precision_at_k(y_true, [[2.0, 2.0, 2.0]], k=2) == 0.0
        assert mrr_at_k(y_true, [[2.0, 2.0, 2.0]], k=3) == approx(1 / 3)
    # A tie that straddles the cut-off: 3 tied items, 1 relevant, k = 2.
    assert precision_at_k([[0, 1, 0, 0]], [[5.0, 1.0, 1.0, 1.0]], k=2) == 0.0
    assert precision_at_k([[0, 1, 0, 0]], [[5.0, 1.0, 1.0, 1.0]], k=4) == 0.25
    # Two relevant items among 3 tied ones: the tied non-relevant comes first.
    # Ranking 0, 3, {1, 2}: hits [0, 0, 1, 1]
    assert precision_at_k([[0, 1, 1, 0]], [[9.0, 1.0, 1.0, 1.0]], k=2) == 0.0
    assert precision_at_k([[0, 1, 1, 0]], [[9.0, 1.0, 1.0, 1.0]], k=3) == approx(1 / 3)


# Item 0 is relevant but scored -inf: never ranked, still counted as relevant.
# Ranking 1, 2, 3 -> hits [1, 0, 0]
INF_TRUE = [[1, 1, 0, 0]]
INF_SCORE = [[-INF, 0.5, 0.4, 0.3]]

HAND_MINUS_INF = [
    ("precision", 2, 1 / 2),
    ("recall", 2, 1 / 2),  # 1 hit / 2 relevant, the -inf one included
    ("recall", 4, 1 / 2),  # still 1/2: item 0 never enters the list
    ("f1", 2, 1 / 2),
    ("ndcg", 2, L2 / (L2 + L3)),  # ideal = min(2, 2) relevant on top
    ("ndcg", 4, L2 / (L2 + L3)),
    ("map", 2, 1 / 2),  # (1/1) / min(2, 2)
    ("map", 4, 1 / 2),
    ("mrr", 4, 1.0),
    ("hit_rate", 4, 1.0),
    # precision divides by k even though only 3 items are rankable
    ("precision", 4, 1 / 4),
    ("precision", 10, 1 / 10),
]


@pytest.mark.parametrize(("metric", "k", "expected"), HAND_MINUS_INF)
def test_hand_computed_minus_inf(metric, k, expected):
    assert TOP_K[metric](INF_TRUE, INF_SCORE, k=k) == approx(expected)


def test_hand_computed_minus_inf_auc():
    # rankable items 1, 2, 3: relevant .5 beats .4 and .3 -> 1
    assert auc_score(INF_TRUE, INF_SCORE) == 1.0
    # +inf is rankable; -inf is left out even when it would lose every pair
    assert auc_score([[1, 0, 0]], [[INF, -INF, 0.0]]) == 1.0
    assert auc_score([[0, 1, 0]], [[INF, 3.0, -INF]]) == 0.0


def test_hand_computed_fewer_rankable_than_k():
    # Only item 0 is rankable: top list [item 0] -> hits [1]
    y_true, y_score = [[1, 0, 0]], [[0.3, -INF, -INF]]
    assert precision_at_k(y_true, y_score, k=2) == approx(1 / 2)  # 1 hit / k=2
    assert precision_at_k(y_true, y_score, k=5) == approx(1 / 5)
    assert recall_at_k(y_true, y_score, k=5) == 1.0
    assert f1_at_k(y_true, y_score, k=5) == approx(2 * 0.2 / 1.2)
    assert ndcg_at_k(y_true, y_score, k=5) == 1.0
    assert map_at_k(y_true, y_score, k=5) == 1.0  # (1/1) / min(1, 5)


def test_hand_computed_map_denominator_is_min_of_relevant_and_k():
    # relevant items 0, 1, 2; ranking 0, 2, 3, 1 -> hits [1, 1, 0, 1]
    y_true, y_score = [[1, 1, 1, 0]], [[0.9, 0.1, 0.8, 0.7]]
    assert map_at_k(y_true, y_score, k=2) == 1.0  # (1/1 + 2/2) / min(3, 2)
    assert map_at_k(y_true, y_score, k=3) == approx(2 / 3)  # (1 + 1) / 3
    assert map_at_k(y_true, y_score, k=4) == approx(2.75 / 3)  # (1 + 1 + 3/4) / 3
    # the docstring example: (1/1 + 2/3) / 2
    assert map_at_k([[1, 0, 1]], [[0.9, 0.8, 0.7]], k=3) == approx(5 / 6)


def test_hand_computed_ndcg_k_beyond_catalog():
    # k = 10 > 2 items: DCG = 1/log2 3, ideal = 1 relevant on top = 1
    assert ndcg_at_k([[0, 1]], [[0.9, 0.1]], k=10) == approx(L3)
    assert ndcg_at_k([[0, 1]], [[0.9, 0.1]]) == approx(L3)  # default k = 10


def test_hand_computed_mrr_and_hit_rate():
    # row 0: first relevant at rank 2; row 1: at rank 3 (outside k = 2)
    y_true = [[0, 1, 0], [0, 0, 1]]
    y_score = [[0.9, 0.8, 0.7], [0.9, 0.8, 0.7]]
    assert mrr_at_k(y_true, y_score, k=2) == approx((1 / 2 + 0) / 2)
    assert mrr_at_k(y_true, y_score, k=3) == approx((1 / 2 + 1 / 3) / 2)
    assert hit_rate_at_k(y_true, y_score, k=2) == approx(1 / 2)
    assert hit_rate_at_k(y_true, y_score, k=3) == 1.0


def test_graded_and_negative_relevance_is_binary():
    # > 0 is relevant with gain 1 whatever its value; 0 and negatives are not
    y_score = [[0.9, 0.8, 0.7, 0.6]]
    graded = [[5, 0, 0.5, -1]]
    binary = [[1, 0, 1, 0]]
    for metric in TOP_K_NAMES:
        assert TOP_K[metric](graded, y_score, k=3) == approx(
            TOP_K[metric](binary, y_score, k=3)
        )
    assert auc_score(graded, y_score) == approx(auc_score(binary, y_score))


@pytest.mark.parametrize("metric", TOP_K_NAMES)
def test_dtypes_and_lists_give_the_same_value(metric):
    y_true, y_score = random_continuous(7, (6, 9), p_relevant=0.4)
    y_score = np.round(y_score * 4)  # small integers, exact in every dtype
    expected = TOP_K[metric](y_true, y_score, k=4)
    variants = [
        (y_true.astype(bool), y_score),
        (y_true.astype(np.float32), y_score.astype(np.float32)),
        (y_true, y_score.astype(np.int64)),
        (y_true.tolist(), y_score.tolist()),
        (np.asfortranarray(y_true), np.asfortranarray(y_score)),
    ]
    for true, score in variants:
        assert TOP_K[metric](true, score, k=4) == approx(expected)


def test_numpy_integer_k_is_accepted():
    assert precision_at_k(ROW_TRUE, ROW_SCORE, k=np.int64(2)) == approx(1 / 2)


# --------------------------------------------------------------------------
# 3. properties, with hypothesis

SCORE_ELEMENTS = st.one_of(
    st.sampled_from([-INF, -INF, 0.0, 1.0, 2.0, INF]),  # ties and infinities
    st.floats(-10, 10, allow_nan=False, allow_infinity=False),
)


@st.composite
def ranking_data(draw, max_users=5, max_items=7, scores=SCORE_ELEMENTS):
    n_users = draw(st.integers(1, max_users))
    n_items = draw(st.integers(1, max_items))
    shape = (n_users, n_items)
    y_true = draw(hnp.arrays(np.int64, shape, elements=st.integers(-1, 2)))
    y_score = draw(hnp.arrays(np.float64, shape, elements=scores))
    k = draw(st.integers(1, n_items + 2))
    return y_true, y_score, k


def quiet(metric, y_true, y_score, k):
    """Compute a metric, silencing the warning of the all-undefined case."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return compute(metric, y_true, y_score, k)


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == approx(b)


@pytest.mark.parametrize("metric", [*TOP_K_NAMES, "auc"])
@settings(max_examples=100, deadline=None)
@given(data=ranking_data())
def test_matches_reference_with_ties_and_infinities(metric, data):
    y_true, y_score, k = data
    expected = ref_metric(metric, y_true, y_score, k)
    got = quiet(metric, y_true, y_score, k)
    assert same(got, expected), (got, expected)
    # sparse relevance gives the same value as dense
    assert same(quiet(metric, sp.csr_matrix(y_true), y_score, k), got)
    if not math.isnan(got):
        assert 0.0 <= got <= 1.0


@settings(max_examples=100, deadline=None)
@given(data=ranking_data())
def test_rows_without_relevant_item_are_skipped(data):
    y_true, y_score, k = data
    n_items = y_true.shape[1]
    extra_score = np.linspace(1.0, 0.0, n_items)[None, :]
    for metric in TOP_K_NAMES:
        before = quiet(metric, y_true, y_score, k)
        # an all-zero row (negatives are not relevant either), first or last
        for zeros in (np.zeros((1, n_items), int), -np.ones((1, n_items), int)):
            after_last = quiet(
                metric,
                np.vstack([y_true, zeros]),
                np.vstack([y_score, extra_score]),
                k,
            )
            after_first = quiet(
                metric,
                np.vstack([zeros, y_true]),
                np.vstack([extra_score, y_score]),
                k,
            )
            assert same(after_last, before)
            assert same(after_first, before)


@st.composite
def perfect_ranking(draw, max_items=8):
    """One row whose relevant items all score strictly above the others."""
    n_items = draw(st.integers(1, max_items))
    rel = draw(hnp.arrays(bool, n_items, elements=st.booleans()))
    if not rel.any():
        rel[draw(st.integers(0, n_items - 1))] = True
    high = draw(hnp.arrays(np.float64, n_items, elements=st.floats(10, 20)))
    low = draw(hnp.arrays(np.float64, n_items, elements=st.floats(-20, 9.5)))
    score = np.where(rel, high, low)
    k = draw(st.integers(1, n_items + 2))
    return rel[None, :].astype(int), score[None, :], k


@settings(max_examples=100, deadline=None)
@given(data=perfect_ranking())
def test_perfect_ranking(data):
    y_true, y_score, k = data
    n_rel = int(y_true.sum())
    n_found = min(n_rel, k)
    precision = precision_at_k(y_true, y_score, k=k)
    recall = recall_at_k(y_true, y_score, k=k)
    assert precision == approx(n_found / k)
    assert (precision == 1.0) == (n_rel >= k)
    assert recall == approx(n_found / n_rel)
    if n_rel <= k:
        assert recall == 1.0
    # the top k are as good as can be whatever n_relevant
    assert ndcg_at_k(y_true, y_score, k=k) == approx(1.0)
    assert map_at_k(y_true, y_score, k=k) == approx(1.0)
    assert mrr_at_k(y_true, y_score, k=k) == 1.0
    assert hit_rate_at_k(y_true, y_score, k=k) == 1.0
    if n_rel < y_true.shape[1]:
        assert auc_score(y_true, y_score) == 1.0


@settings(max_examples=100, deadline=None)
@given(data=ranking_data(), pick=st.integers(0, 10**6))
def test_minus_inf_on_a_relevant_item_never_adds_hits(data, pick):
    y_true, y_score, k = data
    relevant = np.argwhere(y_true > 0)
    if len(relevant) == 0:
        return
    i, j = relevant[pick % len(relevant)]
    hidden = y_score.copy()
    hidden[i, j] = -INF
    # precision counts hits; recall, f1 and hit rate keep their denominators;
    # NDCG and MRR can only lose when a relevant item leaves the ranking
    for metric in ("precision", "recall", "f1", "hit_rate", "ndcg", "mrr"):
        before = TOP_K[metric](y_true, y_score, k=k)
        after = TOP_K[metric](y_true, hidden, k=k)
        assert after <= before + 1e-12, metric


@pytest.mark.parametrize("metric", TOP_K_NAMES)
def test_minus_inf_items_are_never_ranked(metric):
    # the only relevant item is hidden: nothing is found, even with k >= n_items
    y_true = [[0, 1, 0], [1, 0, 0]]
    y_score = [[0.1, -INF, 0.2], [-INF, -INF, -INF]]
    for k in (1, 3, 10):
        assert TOP_K[metric](y_true, y_score, k=k) == 0.0


@st.composite
def constant_score_data(draw, max_users=5, max_items=7):
    """Rows with at least k non-relevant items, one of them with a relevant item."""
    n_users = draw(st.integers(1, max_users))
    n_items = draw(st.integers(2, max_items))
    k = draw(st.integers(1, n_items - 1))
    y_true = np.zeros((n_users, n_items), dtype=int)
    for i in range(n_users):
        n_rel = draw(st.integers(1 if i == 0 else 0, n_items - k))
        cols = draw(st.permutations(range(n_items)))[:n_rel]
        y_true[i, cols] = 1
    return y_true, k


@settings(max_examples=100, deadline=None)
@given(data=constant_score_data(), value=st.sampled_from([0.0, -3.5, 7.0, INF]))
def test_constant_score_earns_nothing(data, value):
    # ties against the model: the k non-relevant items fill the top k
    y_true, k = data
    y_score = np.full(y_true.shape, value)
    for metric in TOP_K_NAMES:
        assert TOP_K[metric](y_true, y_score, k=k) == 0.0, metric
    assert auc_score(y_true, y_score) == 0.5


@st.composite
def untied_data(draw, max_users=5, max_items=7):
    """Scores without ties among rankable items, some -inf, and a permutation."""
    n_users = draw(st.integers(1, max_users))
    n_items = draw(st.integers(1, max_items))
    shape = (n_users, n_items)
    y_true = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 1)))
    y_score = draw(
        hnp.arrays(
            np.float64,
            shape,
            elements=st.floats(-10, 10, allow_nan=False),
            unique=True,
        )
    )
    hidden = draw(hnp.arrays(bool, shape, elements=st.booleans()))
    y_score = np.where(hidden, -INF, y_score)
    perm = draw(st.permutations(range(n_items)))
    k = draw(st.integers(1, n_items + 2))
    return y_true, y_score, np.array(perm, dtype=int), k


@settings(max_examples=100, deadline=None)
@given(data=untied_data())
def test_joint_column_permutation_changes_nothing(data):
    y_true, y_score, perm, k = data
    for metric in [*TOP_K_NAMES, "auc"]:
        before = quiet(metric, y_true, y_score, k)
        after = quiet(metric, y_true[:, perm], y_score[:, perm], k)
        assert same(after, before), metric


@pytest.mark.parametrize("metric", [*TOP_K_NAMES, "auc"])
def test_reversed_column_views_are_accepted(metric):
    # np.flip and [:, ::-1] give views with negative strides, common in user code
    y_true, y_score = random_continuous(11, (6, 9), p_relevant=0.4)
    y_true[0, :2] = [1, 0]
    expected = compute(metric, y_true, y_score, 4)
    got = compute(metric, np.flip(y_true, axis=1), np.flip(y_score, axis=1), 4)
    assert got == approx(expected)
    got = compute(metric, y_true[:, ::-1], y_score[:, ::-1].copy(), 4)
    assert got == approx(expected)


def test_reversed_column_views_in_coverage_and_novelty():
    y_score = np.array([[0.1, 0.5, 0.9], [0.9, 0.5, 0.1]])
    flipped = np.flip(y_score, axis=1)  # a view with a negative stride
    # flipped top 2: row 0 -> items 0, 1 -> (0 + 1) / 2; row 1 -> items 2, 1
    assert catalog_coverage(flipped, k=1) == approx(2 / 3)
    assert novelty(NOV_TRAIN, flipped, k=2) == approx(1.0)


GRID_SCORES = st.one_of(
    st.integers(-20, 20).map(lambda v: v / 4),  # exact grid: ties survive
    st.sampled_from([-INF, INF]),
)

MONOTONE = [
    lambda s: 3 * s - 7,
    lambda s: s**3,
    lambda s: np.where(np.isneginf(s), -INF, np.exp(s)),
    lambda s: np.where(np.isfinite(s), np.arctan(s), s * 2),
]


@settings(max_examples=100, deadline=None)
@given(data=ranking_data(scores=GRID_SCORES), which=st.integers(0, len(MONOTONE) - 1))
def test_strictly_increasing_transform_changes_nothing(data, which):
    y_true, y_score, k = data
    transformed = MONOTONE[which](y_score)
    for metric in [*TOP_K_NAMES, "auc"]:
        assert same(
            quiet(metric, y_true, transformed, k), quiet(metric, y_true, y_score, k)
        ), metric


@settings(max_examples=100, deadline=None)
@given(data=ranking_data())
def test_smaller_k_is_a_prefix(data):
    # hits and hit rate can only grow with k, precision@k * k = hits
    y_true, y_score, k = data
    if not (y_true > 0).any():
        return
    for small in range(1, k):
        assert (
            recall_at_k(y_true, y_score, k=small)
            <= recall_at_k(y_true, y_score, k=k) + 1e-12
        )
        assert hit_rate_at_k(y_true, y_score, k=small) <= hit_rate_at_k(
            y_true, y_score, k=k
        )
        assert mrr_at_k(y_true, y_score, k=small) <= mrr_at_k(y_true, y_score, k=k)


# --------------------------------------------------------------------------
# 4. errors and undefined cases

ALL_RANKING = [*TOP_K_NAMES, "auc"]


@pytest.mark.parametrize("metric", ALL_RANKING)
def test_nan_score_is_rejected(metric):
    with pytest.raises(ValueError, match="NaN"):
        compute(metric, [[1, 0, 0]], [[0.5, np.nan, 0.1]], 2)


@pytest.mark.parametrize("metric", ALL_RANKING)
def test_shape_mismatch_is_rejected(metric):
    with pytest.raises(ValueError, match="shape"):
        compute(metric, [[1, 0, 0]], [[0.5, 0.2]], 2)
    with pytest.raises(ValueError, match="shape"):
        compute(metric, [[1, 0], [0, 1]], [[0.5, 0.2]], 2)
    with pytest.raises(ValueError, match="shape"):
        compute(metric, sp.csr_matrix([[1, 0, 0]]), [[0.5, 0.2]], 2)


@pytest.mark.parametrize("metric", ALL_RANKING)
def test_one_dimensional_input_is_rejected(metric):
    with pytest.raises(ValueError, match="2-D"):
        compute(metric, [1, 0, 0], [0.5, 0.2, 0.1], 2)
    with pytest.raises(ValueError):
        compute(metric, [1, 0, 0], [[0.5, 0.2, 0.1]], 2)
    with pytest.raises(ValueError):
        compute(metric, [[[1, 0, 0]]], [[[0.5, 0.2, 0.1]]], 2)


@pytest.mark.parametrize("metric", TOP_K_NAMES)
@pytest.mark.parametrize("k", [0, -1, 1.5, True, False, None, "3", 2.0])
def test_invalid_k_is_rejected(metric, k):
    with pytest.raises(ValueError, match="k"):
        TOP_K[metric](ROW_TRUE, ROW_SCORE, k=k)


@pytest.mark.parametrize("metric", ALL_RANKING)
def test_no_qualifying_row_gives_nan_and_a_warning(metric):
    for y_true in ([[0, 0, 0], [0, 0, 0]], sp.csr_matrix((2, 3))):
        with pytest.warns(UndefinedMetricWarning):
            value = compute(metric, y_true, [[0.3, 0.2, 0.1], [0.1, 0.2, 0.3]], 2)
        assert math.isnan(value)


def test_auc_without_any_non_relevant_rankable_item_is_nan():
    # every row lacks a rankable non-relevant item
    y_true = [[1, 1, 0], [1, 0, 0]]
    y_score = [[0.3, 0.2, -INF], [0.4, -INF, -INF]]
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(auc_score(y_true, y_score))


def test_relevant_rows_never_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for metric in ALL_RANKING:
            compute(metric, MULTI_TRUE, MULTI_SCORE, 2)


# --------------------------------------------------------------------------
# 5. catalog coverage, novelty, rmse and mae


def test_catalog_coverage_hand_computed():
    # k = 1: row 0 -> item 0, row 1 -> item 3: 2 of 4 items
    assert catalog_coverage([[3, 2, 1, 0], [0, 1, 2, 3]], k=1) == 0.5
    # k = 2: items {0, 1} and {3, 2}: all 4
    assert catalog_coverage([[3, 2, 1, 0], [0, 1, 2, 3]], k=2) == 1.0
    # ties by column order: every row recommends items 0 and 1 -> 2 of 5
    assert catalog_coverage(np.ones((3, 5)), k=2) == approx(2 / 5)
    # -inf is never recommended: only item 2 -> 1 of 4
    assert catalog_coverage([[-INF, -INF, 1.0, -INF]], k=3) == approx(1 / 4)
    # k beyond the catalog: every rankable item
    assert catalog_coverage([[0.1, 0.2, -INF]], k=10) == approx(2 / 3)


@settings(max_examples=100, deadline=None)
@given(data=ranking_data())
def test_catalog_coverage_matches_reference(data):
    _, y_score, k = data
    recommended = set()
    for row in y_score.tolist():
        recommended.update(ref_top_items(row, k))
    got = catalog_coverage(y_score, k=k)
    assert got == approx(len(recommended) / y_score.shape[1])
    assert 0.0 <= got <= 1.0


def test_catalog_coverage_errors():
    for k in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            catalog_coverage([[0.1, 0.2]], k=k)
    with pytest.raises(ValueError):
        catalog_coverage([[0.1, np.nan]], k=1)
    with pytest.raises(ValueError):
        catalog_coverage([0.1, 0.2], k=1)


# 3 training users: item counts n = [3, 1, 0]
# p = (n + 1) / (3 + 1) = [1, 1/2, 1/4] -> -log2 p = [0, 1, 2] bits
NOV_TRAIN = [[1, 0, 0], [1, 1, 0], [1, 0, 0]]


def test_novelty_hand_computed():
    # row 0: top 2 = items 2, 1 -> (2 + 1) / 2; row 1: items 0, 1 -> (0 + 1) / 2
    y_score = [[0.1, 0.5, 0.9], [0.9, 0.5, 0.1]]
    assert novelty(NOV_TRAIN, y_score, k=2) == approx((1.5 + 0.5) / 2)
    assert novelty(sp.csr_matrix(NOV_TRAIN), y_score, k=2) == approx(1.0)
    # k = 1: items 2 and 0 -> (2 + 0) / 2
    assert novelty(NOV_TRAIN, y_score, k=1) == approx(1.0)
    # -inf items are left out of the list and of its mean: only item 2
    assert novelty(NOV_TRAIN, [[-INF, -INF, 0.3]], k=2) == approx(2.0)
    # a row with no rankable item is skipped
    assert novelty(NOV_TRAIN, [[-INF, -INF, -INF], [0.1, 0.5, 0.9]], k=2) == approx(1.5)
    # the docstring example: -log2((3 + 1) / (3 + 1)) ... item 1: -log2(2 / 4)
    assert novelty([[1, 0], [1, 0], [1, 1]], [[0.0, 1.0]], k=1) == approx(1.0)
    # an item no one saw stays finite: -log2(1 / (2 + 1))
    assert novelty([[1, 0], [1, 0]], [[0.0, 1.0]], k=1) == approx(math.log2(3))


@settings(max_examples=100, deadline=None)
@given(data=untied_data(), draw=st.data())
def test_novelty_matches_formula(data, draw):
    _, y_score, _, k = data
    n_items = y_score.shape[1]
    n_train = draw.draw(st.integers(1, 6))
    y_train = draw.draw(
        hnp.arrays(np.int64, (n_train, n_items), elements=st.integers(-1, 3))
    )
    info = []
    for j in range(n_items):
        n_j = sum(1 for u in range(n_train) if y_train[u, j] > 0)
        info.append(-math.log2((n_j + 1) / (n_train + 1)))
    per_row = []
    for row in y_score.tolist():
        top = ref_top_items(row, k)
        if top:
            per_row.append(sum(info[j] for j in top) / len(top))
    if not per_row:
        with pytest.warns(UndefinedMetricWarning):
            assert math.isnan(novelty(y_train, y_score, k=k))
        return
    expected = sum(per_row) / len(per_row)
    assert novelty(y_train, y_score, k=k) == approx(expected)
    assert novelty(sp.csr_matrix(y_train), y_score, k=k) == approx(expected)


def test_novelty_errors():
    with pytest.raises(ValueError):
        novelty([[1, 0]], [[0.1, 0.2, 0.3]], k=1)  # catalog sizes differ
    with pytest.raises(ValueError):
        novelty([1, 0, 1], [[0.1, 0.2, 0.3]], k=1)  # 1-D y_train
    with pytest.raises(ValueError):
        novelty([[1, 0, 1]], [0.1, 0.2, 0.3], k=1)  # 1-D y_score
    with pytest.raises(ValueError):
        novelty([[1, 0, 1]], [[0.1, np.nan, 0.3]], k=1)
    for k in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            novelty([[1, 0, 1]], [[0.1, 0.2, 0.3]], k=k)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(novelty([[1, 0, 1]], [[-INF, -INF, -INF]], k=2))


def test_rmse_and_mae_hand_computed():
    assert rmse([3, 4], [4, 4]) == approx(math.sqrt(1 / 2))  # sqrt((1 + 0) / 2)
    assert mae([3, 4], [4, 4]) == approx(1 / 2)  # (1 + 0) / 2
    assert rmse([1, 2, 3], [3, 2, 1]) == approx(math.sqrt(8 / 3))  # (4 + 0 + 4) / 3
    assert mae([1, 2, 3], [3, 2, 1]) == approx(4 / 3)  # (2 + 0 + 2) / 3
    assert rmse([2.5], [2.5]) == 0.0
    assert mae([2.5], [2.5]) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rmse_and_mae_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    y_true = rng.integers(1, 6, n).astype(float)
    y_pred = y_true + rng.normal(0, 1.2, n)
    assert rmse(y_true, y_pred) == approx(np.sqrt(mean_squared_error(y_true, y_pred)))
    assert rmse(y_true, y_pred) == approx(np.sqrt(np.mean((y_true - y_pred) ** 2)))
    assert mae(y_true, y_pred) == approx(mean_absolute_error(y_true, y_pred))
    assert mae(list(y_true), list(y_pred)) == approx(np.mean(np.abs(y_true - y_pred)))


@pytest.mark.parametrize("func", [rmse, mae])
def test_rmse_and_mae_errors(func):
    with pytest.raises(ValueError):
        func([1, 2, 3], [1, 2])  # length mismatch
    with pytest.raises(ValueError):
        func([1, np.nan], [1, 2])
    with pytest.raises(ValueError):
        func([1, 2], [1, np.nan])
    with pytest.raises(ValueError):
        func([1, 2], [1, np.inf])
    with pytest.raises(ValueError):
        func([], [])


# --------------------------------------------------------------------------
# 6. inputs are left as they were


def test_inputs_are_not_modified():
    rng = np.random.default_rng(3)
    y_true = (rng.random((6, 8)) < 0.4).astype(np.float64)
    y_score = np.round(rng.standard_normal((6, 8)), 1)  # ties
    y_score[rng.random((6, 8)) < 0.3] = -INF
    y_true_sparse = sp.csr_matrix(y_true)
    true_copy, score_copy = y_true.copy(), y_score.copy()
    sparse_copy = y_true_sparse.copy()
    for metric in TOP_K_NAMES:
        TOP_K[metric](y_true, y_score, k=3)
        TOP_K[metric](y_true_sparse, y_score, k=3)
    auc_score(y_true, y_score)
    auc_score(y_true_sparse, y_score)
    catalog_coverage(y_score, k=3)
    novelty(y_true, y_score, k=3)
    novelty(y_true_sparse, y_score, k=3)
    np.testing.assert_array_equal(y_true, true_copy)
    np.testing.assert_array_equal(y_score, score_copy)
    assert (y_true_sparse != sparse_copy).nnz == 0
    ratings, preds = rng.normal(size=10), rng.normal(size=10)
    ratings_copy, preds_copy = ratings.copy(), preds.copy()
    rmse(ratings, preds)
    mae(ratings, preds)
    np.testing.assert_array_equal(ratings, ratings_copy)
    np.testing.assert_array_equal(preds, preds_copy)


def test_read_only_inputs_work_without_warnings():
    # Read-only arrays are common (pandas copy-on-write, np.broadcast_to,
    # memory maps). torch reports some warnings only once per process, so ask
    # it to repeat them while this test runs.
    y_true, y_score = random_continuous(5, (4, 6), p_relevant=0.5)
    y_true[0, :2] = [1, 0]
    expected = {m: compute(m, y_true, y_score, 3) for m in ALL_RANKING}
    y_true.flags.writeable = False
    y_score.flags.writeable = False
    previous = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for metric in ALL_RANKING:
                assert compute(metric, y_true, y_score, 3) == approx(expected[metric])
            catalog_coverage(y_score, k=3)
            novelty(y_true, y_score, k=3)
    finally:
        torch.set_warn_always(previous)
