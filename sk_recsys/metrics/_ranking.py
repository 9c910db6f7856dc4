"""Ranking, beyond-accuracy and rating metrics as pure functions.

Conventions shared by every ranking metric (see ``docs/metrics.rst``):

* ``y_true`` (n_users, n_items): relevance, dense or scipy.sparse; an entry
  ``> 0`` is relevant (binary gain).
* ``y_score`` (n_users, n_items): higher ranks first; ``-inf`` marks an item
  that may not be ranked (e.g. seen in training). It never enters a top-k
  list and is left out of AUC; it still counts as relevant in the
  denominators of recall, NDCG and MAP when ``y_true`` marks it relevant.
* Ties are broken against the model: among equal scores non-relevant items
  rank first, so a constant scorer earns no credit from the order of the
  columns. AUC instead counts a tie as one half, like
  :func:`sklearn.metrics.roc_auc_score`.
* Each function returns the mean over rows with at least one relevant item
  (AUC: at least one relevant and one non-relevant rankable item), and NaN
  with a warning when no row qualifies.

The per-row computations work on torch tensors so the scorer can run them on
the device that produced the scores.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.exceptions import UndefinedMetricWarning

__all__ = [
    "auc_score",
    "catalog_coverage",
    "f1_at_k",
    "hit_rate_at_k",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]

TOP_K_METRICS = ("precision", "recall", "f1", "ndcg", "map", "mrr", "hit_rate")


# --------------------------------------------------------------------------
# validation


def check_k(k) -> int:
    """Return ``k`` as an int >= 1, or raise a ValueError saying so."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def _check_score(y_score, name: str = "y_score") -> np.ndarray:
    score = np.asarray(y_score)
    if score.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_users, n_items), got shape {score.shape}; "
            "use .reshape(1, -1) for a single user."
        )
    if score.dtype.kind not in "iufb":
        raise ValueError(f"{name} must hold numbers, got dtype {score.dtype}.")
    # torch.from_numpy needs positive strides and warns on read-only arrays;
    # np.require copies only when the input is neither.
    score = np.require(score, dtype=np.float64, requirements=["C", "W"])
    if np.isnan(score).any():
        raise ValueError(
            f"{name} contains NaN; mark items that may not be ranked with -inf."
        )
    return score


def _check_relevance(y_true, shape: tuple[int, int]) -> np.ndarray:
    if sp.issparse(y_true):
        rel = y_true.toarray()
    else:
        rel = np.asarray(y_true)
    if rel.shape != shape:
        raise ValueError(
            f"y_true has shape {rel.shape} but y_score has shape {shape}; pass "
            "one relevance value per scored (user, item)."
        )
    if rel.dtype.kind not in "iufb":
        raise ValueError(f"y_true must hold numbers, got dtype {rel.dtype}.")
    if rel.dtype.kind == "f" and np.isnan(rel).any():
        raise ValueError("y_true contains NaN; use 0 for non-relevant items.")
    return rel > 0


def _check_targets(y_true, y_score) -> tuple[torch.Tensor, torch.Tensor]:
    score = _check_score(y_score)
    rel = _check_relevance(y_true, score.shape)
    return torch.from_numpy(rel), torch.from_numpy(score)


# --------------------------------------------------------------------------
# per-row core, on tensors


def _group_ids(sorted_values: torch.Tensor) -> torch.Tensor:
    """Index of each run of equal values along dim 1 of a sorted tensor."""
    new = torch.ones_like(sorted_values, dtype=torch.bool)
    new[:, 1:] = sorted_values[:, 1:] != sorted_values[:, :-1]
    return new.cumsum(1) - 1


def ranked_hits(rel: torch.Tensor, score: torch.Tensor, k: int) -> torch.Tensor:
    """Relevance of the items at ranks ``1..min(k, n_items)`` of each row.

    The ranking orders by score, breaking ties against the model (among
    equal scores, non-relevant items first); ``-inf`` items are never ranked,
    their positions read ``False``. The order is total, so the result for a
    smaller ``k`` is a prefix of this one.

    Parameters
    ----------
    rel : BoolTensor of shape (n_users, n_items)
    score : FloatTensor of shape (n_users, n_items)
    k : int

    Returns
    -------
    hits : BoolTensor of shape (n_users, min(k, n_items))
    """
    n_rows, n_items = score.shape
    kk = min(k, n_items)
    if n_rows == 0 or kk == 0:
        return torch.zeros((n_rows, kk), dtype=torch.bool, device=score.device)
    vals, idx = torch.topk(score, kk, dim=1)
    hit = rel.gather(1, idx)
    gid = _group_ids(vals)
    positions = torch.arange(kk, device=score.device).expand(n_rows, kk)
    new_group = torch.zeros_like(hit)
    new_group[:, 0] = True
    new_group[:, 1:] = gid[:, 1:] != gid[:, :-1]
    start = torch.where(new_group, positions, torch.zeros_like(positions)).cummax(1)
    offset = positions - start.values
    size = torch.zeros((n_rows, kk), dtype=torch.long, device=score.device)
    size.scatter_add_(1, gid, torch.ones_like(gid))
    n_rel = torch.zeros_like(size).scatter_add_(1, gid, hit.long())
    size, n_rel = size.gather(1, gid), n_rel.gather(1, gid)
    # The group at the cut-off may continue past position k: count it on the
    # whole row so the tie-break sees every tied item.
    threshold = vals[:, -1:]
    at_threshold = score == threshold
    size_t = at_threshold.sum(1, keepdim=True)
    rel_t = (at_threshold & rel).sum(1, keepdim=True)
    in_t = vals == threshold
    size = torch.where(in_t, size_t, size)
    n_rel = torch.where(in_t, rel_t, n_rel)
    return (offset >= size - n_rel) & (vals > -torch.inf)


def _discounts(n: int, device) -> torch.Tensor:
    return 1.0 / torch.log2(torch.arange(n, device=device, dtype=torch.float64) + 2.0)


def top_k_rows(
    metric: str, hits: torch.Tensor, n_relevant: torch.Tensor, k: int
) -> torch.Tensor:
    """Per-row value of a top-k metric from :func:`ranked_hits` output.

    ``hits`` may hold more than ``k`` columns (a prefix is used). Rows with
    no relevant item get NaN.
    """
    hits = hits[:, :k].to(torch.float64)
    n_rel = n_relevant.to(torch.float64)
    n_hits = hits.sum(1)
    if metric == "precision":
        value = n_hits / k
    elif metric == "recall":
        value = n_hits / n_rel
    elif metric == "f1":
        precision, recall = n_hits / k, n_hits / n_rel
        value = torch.where(
            n_hits > 0,
            2 * precision * recall / (precision + recall),
            torch.zeros_like(n_hits),
        )
    elif metric == "hit_rate":
        value = (n_hits > 0).to(torch.float64)
    elif metric == "ndcg":
        discount = _discounts(hits.shape[1], hits.device)
        dcg = hits @ discount
        # n_relevant <= n_items, so the ideal list never outgrows the hits.
        length = max(hits.shape[1], 1)
        ideal = torch.cumsum(_discounts(length, hits.device), 0)
        n_ideal = torch.clamp(n_rel, min=1, max=length).long()
        value = dcg / ideal[n_ideal - 1]
    elif metric == "map":
        ranks = torch.arange(1, hits.shape[1] + 1, device=hits.device)
        precision_at = torch.cumsum(hits, 1) / ranks
        value = (precision_at * hits).sum(1) / torch.clamp(n_rel, max=k)
    elif metric == "mrr":
        first = torch.argmax(hits, 1).to(torch.float64)
        value = torch.where(n_hits > 0, 1.0 / (first + 1.0), torch.zeros_like(n_hits))
    else:
        raise ValueError(
            f"Unknown ranking metric {metric!r}; choose one of "
            f"{', '.join(TOP_K_METRICS)}."
        )
    return torch.where(n_rel > 0, value, torch.full_like(value, torch.nan))


def auc_rows(rel: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """Per-row ROC AUC over rankable (finite or +inf) items, ties count 1/2.

    Rows without at least one relevant and one non-relevant rankable item
    get NaN.
    """
    n_rows, n_items = score.shape
    if n_rows == 0 or n_items == 0:
        return torch.full((n_rows,), torch.nan, dtype=torch.float64)
    ordered, order = torch.sort(score, dim=1)
    rankable = ordered > -torch.inf
    pos = rel.gather(1, order) & rankable
    neg = (~rel.gather(1, order) & rankable).to(torch.float64)
    gid = _group_ids(ordered)
    neg_in_group = torch.zeros_like(neg).scatter_add_(1, gid, neg)
    neg_below = torch.cumsum(neg, 1) - neg
    # Equal scores form one group; the negatives strictly below a group are
    # those below its first member, the smallest running count in the group.
    below_group = torch.full_like(neg, torch.inf).scatter_reduce_(
        1, gid, neg_below, reduce="amin"
    )
    credit = below_group.gather(1, gid) + 0.5 * neg_in_group.gather(1, gid)
    n_pos = pos.sum(1).to(torch.float64)
    n_neg = neg.sum(1)
    total = torch.where(pos, credit, torch.zeros_like(credit)).sum(1)
    valid = (n_pos > 0) & (n_neg > 0)
    return torch.where(
        valid, total / (n_pos * n_neg).clamp(min=1), torch.full_like(total, torch.nan)
    )


def _mean_of_rows(values: torch.Tensor, name: str) -> float:
    values = values.cpu().numpy()
    valid = ~np.isnan(values)
    if not valid.any():
        warnings.warn(
            f"{name} is undefined: no row has a relevant item to rank; returning NaN.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return float("nan")
    return float(values[valid].mean())


def _top_k_metric(metric: str, y_true, y_score, k) -> float:
    k = check_k(k)
    rel, score = _check_targets(y_true, y_score)
    hits = ranked_hits(rel, score, k)
    rows = top_k_rows(metric, hits, rel.sum(1), k)
    return _mean_of_rows(rows, f"{metric}@{k}")


# --------------------------------------------------------------------------
# public metrics


def precision_at_k(y_true, y_score, *, k=10) -> float:
    """Precision at k: the share of the top ``k`` items that are relevant.

    ``precision@k = |top_k ∩ relevant| / k``, averaged over rows with at
    least one relevant item. A row with fewer than ``k`` rankable items still
    divides by ``k``.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    precision : float

    Examples
    --------
    >>> from sk_recsys.metrics import precision_at_k
    >>> precision_at_k([[1, 0, 1, 0]], [[0.9, 0.8, 0.1, 0.0]], k=2)
    0.5
    """
    return _top_k_metric("precision", y_true, y_score, k)


def recall_at_k(y_true, y_score, *, k=10) -> float:
    """Recall at k: the share of a row's relevant items found in its top ``k``.

    ``recall@k = |top_k ∩ relevant| / |relevant|``.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    recall : float

    Examples
    --------
    >>> from sk_recsys.metrics import recall_at_k
    >>> recall_at_k([[1, 0, 1, 0]], [[0.9, 0.8, 0.1, 0.0]], k=2)
    0.5
    """
    return _top_k_metric("recall", y_true, y_score, k)


def f1_at_k(y_true, y_score, *, k=10) -> float:
    """F1 at k: per-row harmonic mean of precision@k and recall@k.

    The harmonic mean is taken in each row (0 when the row has no hit), then
    averaged over rows with at least one relevant item.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    f1 : float

    Examples
    --------
    >>> from sk_recsys.metrics import f1_at_k
    >>> round(f1_at_k([[1, 0, 0, 0]], [[0.9, 0.8, 0.1, 0.0]], k=2), 4)
    0.6667
    """
    return _top_k_metric("f1", y_true, y_score, k)


def ndcg_at_k(y_true, y_score, *, k=10) -> float:
    """Normalised discounted cumulative gain at k, binary gain, log2 discount.

    ``DCG@k = sum_{r=1..k} rel_r / log2(r + 1)``; the ideal DCG puts
    ``min(|relevant|, k)`` relevant items first. On data without ties this
    equals :func:`sklearn.metrics.ndcg_score` with binary relevance.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    ndcg : float

    Examples
    --------
    >>> from sk_recsys.metrics import ndcg_at_k
    >>> round(ndcg_at_k([[0, 1]], [[0.9, 0.1]], k=2), 4)
    0.6309
    """
    return _top_k_metric("ndcg", y_true, y_score, k)


def map_at_k(y_true, y_score, *, k=10) -> float:
    """Mean average precision at k.

    ``AP@k = sum_{r=1..k} precision@r * rel_r / min(|relevant|, k)``, then
    the mean over rows.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    map : float

    Examples
    --------
    >>> from sk_recsys.metrics import map_at_k
    >>> map_at_k([[1, 0, 1]], [[0.9, 0.8, 0.7]], k=3)  # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    return _top_k_metric("map", y_true, y_score, k)


def mrr_at_k(y_true, y_score, *, k=10) -> float:
    """Mean reciprocal rank of the first relevant item within the top ``k``.

    A row whose top ``k`` holds no relevant item scores 0.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    mrr : float

    Examples
    --------
    >>> from sk_recsys.metrics import mrr_at_k
    >>> mrr_at_k([[0, 1, 0]], [[0.9, 0.8, 0.7]], k=3)
    0.5
    """
    return _top_k_metric("mrr", y_true, y_score, k)


def hit_rate_at_k(y_true, y_score, *, k=10) -> float:
    """Hit rate at k: the share of rows with a relevant item in their top ``k``.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    hit_rate : float

    Examples
    --------
    >>> from sk_recsys.metrics import hit_rate_at_k
    >>> hit_rate_at_k([[0, 1, 0], [1, 0, 0]], [[0.9, 0.8, 0.7], [0.1, 0.2, 0.3]], k=2)
    0.5
    """
    return _top_k_metric("hit_rate", y_true, y_score, k)


def auc_score(y_true, y_score) -> float:
    """Mean per-row ROC AUC over all rankable items (full catalog).

    In each row, the probability that a relevant item scores above a
    non-relevant one, ties counting one half, over items whose score is not
    ``-inf``. Equal to the mean of :func:`sklearn.metrics.roc_auc_score`
    computed row by row on the rankable items; rows lacking a relevant or a
    non-relevant rankable item are skipped.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_items)
        Relevance; entries ``> 0`` are relevant.
    y_score : array-like of shape (n_users, n_items)
        Scores; ``-inf`` marks items left out of the row.

    Returns
    -------
    auc : float

    Examples
    --------
    >>> from sk_recsys.metrics import auc_score
    >>> auc_score([[1, 0, 0]], [[0.5, 0.5, 0.1]])
    0.75
    """
    rel, score = _check_targets(y_true, y_score)
    return _mean_of_rows(auc_rows(rel, score), "auc")


def _top_indices(y_score, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` columns of each row (ties by column order) and their validity."""
    score = torch.from_numpy(_check_score(y_score))
    kk = min(k, score.shape[1])
    ordered, order = torch.sort(score, dim=1, descending=True, stable=True)
    return order[:, :kk].numpy(), (ordered[:, :kk] > -torch.inf).numpy()


def catalog_coverage(y_score, *, k=10) -> float:
    """Share of the catalog that appears in at least one row's top ``k``.

    Parameters
    ----------
    y_score : array-like of shape (n_users, n_items)
        Scores; ``-inf`` is never ranked. Ties are broken by column order.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    coverage : float
        In ``[0, 1]``; ``n_distinct_recommended / n_items``.

    Examples
    --------
    >>> from sk_recsys.metrics import catalog_coverage
    >>> catalog_coverage([[3, 2, 1, 0], [0, 1, 2, 3]], k=1)
    0.5
    """
    k = check_k(k)
    top, valid = _top_indices(y_score, k)
    n_items = np.shape(y_score)[1]
    if n_items == 0:
        return float("nan")
    return float(len(np.unique(top[valid])) / n_items)


def novelty(y_train, y_score, *, k=10) -> float:
    """Mean self-information of recommended items, in bits.

    An item's popularity is the share of training rows that interacted with
    it, smoothed as ``p_i = (n_i + 1) / (n_users + 1)`` so that an item no one
    interacted with stays finite; the novelty of a list is the mean of
    ``-log2(p_i)`` over its top ``k`` rankable items, averaged over rows with
    at least one rankable item (Zhou et al., 2010).

    Parameters
    ----------
    y_train : array-like or sparse matrix of shape (n_train_users, n_items)
        Training interactions; entries ``> 0`` count.
    y_score : array-like of shape (n_users, n_items)
        Scores; higher ranks first, ``-inf`` is never ranked.
    k : int, default=10
        Length of the top list.

    Returns
    -------
    novelty : float

    Examples
    --------
    >>> from sk_recsys.metrics import novelty
    >>> train = [[1, 0], [1, 0], [1, 1]]
    >>> round(novelty(train, [[0.0, 1.0]], k=1), 4)  # -log2(2 / 4)
    1.0
    """
    k = check_k(k)
    train = y_train.toarray() if sp.issparse(y_train) else np.asarray(y_train)
    if train.ndim != 2:
        raise ValueError(f"y_train must be 2-D, got shape {train.shape}.")
    n_items = np.shape(y_score)[1] if np.ndim(y_score) == 2 else None
    if n_items is not None and train.shape[1] != n_items:
        raise ValueError(
            f"y_train has {train.shape[1]} items but y_score has {n_items}; both "
            "must cover the same catalog."
        )
    top, valid = _top_indices(y_score, k)
    info = -np.log2(((train > 0).sum(0) + 1.0) / (train.shape[0] + 1.0))
    per_item = np.where(valid, info[top], 0.0)
    counts = valid.sum(1)
    rows = counts > 0
    if not rows.any():
        warnings.warn(
            "novelty is undefined: no row has a rankable item; returning NaN.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan")
    return float((per_item[rows].sum(1) / counts[rows]).mean())


def _check_pairs(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(y_true, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true has {true.size} values but y_pred has {pred.size}; pass one "
            "prediction per rating."
        )
    if true.size == 0:
        raise ValueError("y_true is empty; pass at least one rating.")
    if not (np.isfinite(true).all() and np.isfinite(pred).all()):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf).")
    return true, pred


def rmse(y_true, y_pred) -> float:
    """Root mean squared error between ratings and predictions.

    Parameters
    ----------
    y_true : array-like of shape (n_ratings,)
    y_pred : array-like of shape (n_ratings,)

    Returns
    -------
    rmse : float

    Examples
    --------
    >>> from sk_recsys.metrics import rmse
    >>> rmse([3, 4], [4, 4])
    0.7071067811865476
    """
    true, pred = _check_pairs(y_true, y_pred)
    return float(np.sqrt(np.mean((true - pred) ** 2)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error between ratings and predictions.

    Parameters
    ----------
    y_true : array-like of shape (n_ratings,)
    y_pred : array-like of shape (n_ratings,)

    Returns
    -------
    mae : float

    Examples
    --------
    >>> from sk_recsys.metrics import mae
    >>> mae([3, 4], [4, 4])
    0.5
    """
    true, pred = _check_pairs(y_true, y_pred)
    return float(np.mean(np.abs(true - pred)))
