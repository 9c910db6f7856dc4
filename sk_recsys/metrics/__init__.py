"""Ranking, beyond-accuracy and rating metrics, and scorers for model selection.

Metric functions take ``y_true`` and ``y_score`` of shape (n_users, n_items);
scorers rank an estimator's whole catalog and plug into ``GridSearchCV`` and
``cross_validate``.
"""

from ._ranking import (
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
from ._scorer import get_scorer, make_ranking_scorer

__all__ = [
    "auc_score",
    "catalog_coverage",
    "f1_at_k",
    "get_scorer",
    "hit_rate_at_k",
    "mae",
    "make_ranking_scorer",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]
