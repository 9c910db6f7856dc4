"""Scorers that rank an estimator's whole catalog, for model selection.

A scorer is a callable ``(estimator, X, y=None) -> float`` (higher is
better), as ``GridSearchCV(scoring=...)`` and ``cross_validate`` expect. It
ranks every catalog item for each user of ``X`` (never a sample of
candidates), hides the user's training items, and treats the rows of ``X``
as the relevant items.

Several scorers in one ``scoring`` dict share one ranking: the last
evaluation is kept, keyed by the estimator, its training matrix and a hash of
the held-out rows, and reused by the next scorer of the dict.
"""

from __future__ import annotations

import hashlib
import numbers
import re
import warnings
import weakref
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..data import (
    check_ids,
    check_interactions,
    encode_ids,
    lookup_ids,
    mask_entries,
    matrix_rows,
)
from ..utils._warnings import outside_stacklevel
from ._ranking import (
    TOP_K_METRICS,
    _mean_of_rows,
    auc_rows,
    auc_score,
    check_k,
    f1_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranked_hits,
    recall_at_k,
    top_k_rows,
)

__all__ = ["get_scorer", "make_ranking_scorer"]

_FUNCTIONS = {
    precision_at_k: "precision",
    recall_at_k: "recall",
    f1_at_k: "f1",
    ndcg_at_k: "ndcg",
    map_at_k: "map",
    mrr_at_k: "mrr",
    hit_rate_at_k: "hit_rate",
    auc_score: "auc",
}
_METRICS = (*TOP_K_METRICS, "auc")
_NAME = re.compile(r"^(?P<metric>[a-z_0-9]+?)@(?P<k>\d+)$")
# Top-k lists are computed this deep (or to k, if larger) so that one ranking
# serves every k a scoring dict is likely to ask for.
_MIN_DEPTH = 100
_CHUNK_CELLS = 1 << 22


class _Evaluation(NamedTuple):
    hits: torch.Tensor  # (n_users, depth) relevance at each rank
    n_relevant: torch.Tensor  # (n_users,)
    auc: torch.Tensor  # (n_users,) NaN where undefined
    depth: int
    n_columns: int


class _CacheEntry(NamedTuple):
    model: weakref.ref
    interactions: object
    token: object
    key: tuple
    evaluation: _Evaluation


_last: list[_CacheEntry | None] = [None]


def _fingerprint(rows, relevance_threshold, exclude_seen) -> tuple:
    digest = hashlib.blake2b(digest_size=16)
    for column in (rows.users, rows.items):
        digest.update(pd.util.hash_array(column).tobytes())
    if rows.y is not None:
        digest.update(rows.y.tobytes())
    return (len(rows.users), digest.hexdigest(), relevance_threshold, exclude_seen)


def _unwrap(estimator, X):
    """Return the recommender and ``X`` as it reaches it through a Pipeline."""
    if isinstance(estimator, Pipeline):
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    return estimator, X


def _evaluate(model, rows, depth, relevance_threshold, exclude_seen) -> _Evaluation:
    relevant = np.ones(len(rows.users), dtype=bool)
    if relevance_threshold is not None:
        if rows.y is None:
            raise ValueError(
                f"relevance_threshold={relevance_threshold} needs the ratings y, "
                "but y is None; pass y or drop the threshold."
            )
        relevant = rows.y >= relevance_threshold
    catalog = check_ids(np.asarray(model.items_), name="items_")
    n_items = len(catalog)
    users, (user_rows,) = encode_ids(rows.users[relevant])
    item_cols = lookup_ids(pd.Index(catalog), rows.items[relevant])
    cold = item_cols < 0
    if cold.any():
        # Relevant items outside the model's catalog cannot be ranked: they
        # become extra columns scored -inf, so they still count as missed.
        _, (cold_cols,) = encode_ids(rows.items[relevant][cold])
        item_cols[cold] = n_items + cold_cols
    n_columns = n_items + (
        int(item_cols[cold].max()) - n_items + 1 if cold.any() else 0
    )
    truth = sp.csr_matrix(
        (np.ones(len(user_rows), dtype=bool), (user_rows, item_cols)),
        shape=(len(users), n_columns),
    )
    depth = min(depth, n_columns)
    user_index = pd.Index(np.asarray(model.users_))
    if exclude_seen:
        _warn_if_all_seen(model, user_index, rows.users[relevant], item_cols)
    parts = []
    step = max(1, _CHUNK_CELLS // max(n_columns, 1))
    for start in range(0, len(users), step):
        chunk = users[start : start + step]
        scores = np.require(
            model.score_items(chunk), dtype=np.float32, requirements=["C", "W"]
        )
        if scores.shape != (len(chunk), n_items):
            raise ValueError(
                f"{type(model).__name__}.score_items returned shape {scores.shape} "
                f"for {len(chunk)} users and {n_items} items; it must return "
                "(n_users, n_items_)."
            )
        if np.isnan(scores).any():
            raise ValueError(
                f"{type(model).__name__}.score_items returned NaN scores; check the "
                "model's training (e.g. a too large learning rate)."
            )
        score = torch.full((len(chunk), n_columns), -torch.inf)
        score[:, :n_items] = torch.from_numpy(scores)
        if exclude_seen:
            codes = lookup_ids(user_index, chunk)
            mask_entries(score, matrix_rows(model.interactions_, codes))
        rel = torch.from_numpy(truth[start : start + step].toarray())
        parts.append((ranked_hits(rel, score, depth), rel.sum(1), auc_rows(rel, score)))
    if parts:
        hits, n_rel, auc = (torch.cat(p) for p in zip(*parts, strict=True))
    else:
        hits = torch.zeros((0, depth), dtype=torch.bool)
        n_rel, auc = (
            torch.zeros(0, dtype=torch.long),
            torch.zeros(0, dtype=torch.float64),
        )
    return _Evaluation(hits, n_rel, auc, depth, n_columns)


def _warn_if_all_seen(model, user_index, users, item_cols) -> None:
    """Warn when every relevant row is one of the model's training pairs.

    Those items are hidden from the ranking (``exclude_seen``), so every
    metric is 0: the commonest cause is scoring the data the model was
    fitted on.
    """
    if not len(users):
        return
    codes = lookup_ids(user_index, users)
    known = (codes >= 0) & (item_cols < model.n_items_)
    if not known.all():
        return
    seen = np.asarray(sp.csr_matrix(model.interactions_)[codes, item_cols]).ravel()
    if (seen != 0).all():
        warnings.warn(
            f"Every relevant row of X is a training interaction of this "
            f"{type(model).__name__}, and exclude_seen=True hides each user's "
            "training items from the ranking, so the score is 0: score held-out "
            "rows, or build the scorer with exclude_seen=False.",
            UserWarning,
            stacklevel=outside_stacklevel(),
        )


def _cached_evaluation(estimator, X, y, k, relevance_threshold, exclude_seen):
    model, X = _unwrap(estimator, X)
    check_is_fitted(model)
    rows = check_interactions(X, y, min_rows=0)
    key = _fingerprint(rows, relevance_threshold, exclude_seen)
    # A model whose parameters change without refitting (a neural net trained
    # further) says so through _scoring_token.
    token = getattr(model, "_scoring_token", lambda: None)()
    entry = _last[0]
    if (
        entry is not None
        and entry.model() is model
        and entry.interactions is model.interactions_
        and entry.token == token
        and entry.key == key
        and entry.evaluation.depth >= min(k, entry.evaluation.n_columns)
    ):
        return entry.evaluation
    evaluation = _evaluate(
        model, rows, max(k, _MIN_DEPTH), relevance_threshold, exclude_seen
    )
    _last[0] = _CacheEntry(
        weakref.ref(model), model.interactions_, token, key, evaluation
    )
    return evaluation


class RankingScorer:
    """Callable ``(estimator, X, y=None) -> float`` for one ranking metric.

    Build it with :func:`make_ranking_scorer` or :func:`get_scorer`.
    """

    def __init__(self, metric, *, k=10, relevance_threshold=None, exclude_seen=True):
        self.metric = metric
        self.k = k
        self.relevance_threshold = relevance_threshold
        self.exclude_seen = exclude_seen

    def __call__(self, estimator, X, y=None) -> float:
        evaluation = _cached_evaluation(
            estimator, X, y, self.k, self.relevance_threshold, self.exclude_seen
        )
        return self.from_evaluation(evaluation)

    def evaluate(self, model, rows) -> float:
        """Score validated rows (an ``Interactions``) without the shared cache."""
        depth = max(self.k, _MIN_DEPTH)
        evaluation = _evaluate(
            model, rows, depth, self.relevance_threshold, self.exclude_seen
        )
        return self.from_evaluation(evaluation)

    def from_evaluation(self, evaluation) -> float:
        if self.metric == "auc":
            return _mean_of_rows(evaluation.auc, "auc")
        rows = top_k_rows(self.metric, evaluation.hits, evaluation.n_relevant, self.k)
        return _mean_of_rows(rows, f"{self.metric}@{self.k}")

    def __repr__(self) -> str:
        args = [repr(self.metric)]
        if self.metric != "auc":
            args.append(f"k={self.k}")
        if self.relevance_threshold is not None:
            args.append(f"relevance_threshold={self.relevance_threshold!r}")
        if not self.exclude_seen:
            args.append("exclude_seen=False")
        return f"make_ranking_scorer({', '.join(args)})"


def make_ranking_scorer(metric, *, k=10, relevance_threshold=None, exclude_seen=True):
    """Make a full-catalog ranking scorer for ``GridSearchCV`` and ``cross_validate``.

    The scorer ranks the estimator's whole catalog for every user of ``X``,
    hides the items each user interacted with in training (when
    ``exclude_seen``), and treats the rows of ``X`` as relevant (those with
    ``y >= relevance_threshold`` when a threshold is given). Relevant items
    the model has never seen stay in the denominators, scored ``-inf``. When
    the estimator is a :class:`~sklearn.pipeline.Pipeline`, ``X`` goes
    through the steps before the recommender first.

    Parameters
    ----------
    metric : str or callable
        ``"precision"``, ``"recall"``, ``"f1"``, ``"ndcg"``, ``"map"``,
        ``"mrr"``, ``"hit_rate"`` or ``"auc"``, or the matching function of
        :mod:`sk_recsys.metrics` (e.g. ``precision_at_k``).
    k : int, default=10
        Length of the top list (ignored by AUC).
    relevance_threshold : float, default=None
        Rows with ``y`` below it are not relevant; ``None`` keeps every row.
    exclude_seen : bool, default=True
        Hide each user's training items from the ranking.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, higher is better.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.metrics import make_ranking_scorer
    >>> from sk_recsys.model_selection import train_test_split
    >>> from sk_recsys.models import ItemKNN
    >>> X, y = make_interactions(200, 100, random_state=0, return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = ItemKNN().fit(X_train, y_train)
    >>> scorer = make_ranking_scorer("recall", k=20, relevance_threshold=4)
    >>> 0.0 <= scorer(model, X_test, y_test) <= 1.0
    True
    """
    if callable(metric) and metric in _FUNCTIONS:
        metric = _FUNCTIONS[metric]
    if metric not in _METRICS:
        raise ValueError(
            f"Unknown ranking metric {metric!r}; choose one of {', '.join(_METRICS)} "
            "or the matching function of sk_recsys.metrics."
        )
    if relevance_threshold is not None and not isinstance(
        relevance_threshold, numbers.Real
    ):
        raise ValueError(
            "relevance_threshold must be a number or None, got "
            f"{relevance_threshold!r}."
        )
    return RankingScorer(
        metric,
        k=check_k(k),
        relevance_threshold=relevance_threshold,
        exclude_seen=bool(exclude_seen),
    )


def get_scorer(name):
    """Return the scorer named ``name``.

    Ranking scorers are named ``"precision@K"``, ``"recall@K"``, ``"f1@K"``,
    ``"ndcg@K"``, ``"map@K"``, ``"mrr@K"``, ``"hit_rate@K"`` and ``"auc"``
    (full catalog, training items excluded, every row of ``X`` relevant).
    Any other name is looked up among scikit-learn's scorers, e.g.
    ``"neg_root_mean_squared_error"`` for rating models.

    Parameters
    ----------
    name : str

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``.

    Examples
    --------
    >>> from sk_recsys.metrics import get_scorer
    >>> get_scorer("precision@10")
    make_ranking_scorer('precision', k=10)
    >>> get_scorer("auc")
    make_ranking_scorer('auc')
    """
    if name == "auc":
        return make_ranking_scorer("auc")
    match = _NAME.match(name) if isinstance(name, str) else None
    if match and match["metric"] in TOP_K_METRICS:
        return make_ranking_scorer(match["metric"], k=int(match["k"]))
    if name in TOP_K_METRICS:
        # sklearn's "precision", "recall" and "f1" are classification scorers
        # that cannot score a recommender: ask for the list length instead.
        raise ValueError(
            f"Scorer {name!r} needs a list length: use {name + '@10'!r} (or another K)."
        )
    from sklearn.metrics import get_scorer as sklearn_get_scorer

    try:
        return sklearn_get_scorer(name)
    except (ValueError, TypeError):
        raise ValueError(
            f"Unknown scorer {name!r}; use 'metric@K' with metric one of "
            f"{', '.join(TOP_K_METRICS)} (e.g. 'ndcg@10'), 'auc', or a "
            "scikit-learn scorer name."
        ) from None
