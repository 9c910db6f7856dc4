"""Rank fusion: several recommenders' rankings merged into one."""

from __future__ import annotations

import numbers

import torch
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import RecommenderMixin
from ._base import (
    Aligned,
    EstimatorListMixin,
    check_members,
    check_weights,
    normalized,
    seen_mask,
    side_information,
)

__all__ = ["RankFusion"]


class RankFusion(
    EstimatorListMixin, MetaEstimatorMixin, RecommenderMixin, BaseEstimator
):
    """A recommender that merges the rankings of several recommenders.

    Every recommender is fitted on the same rows; for each user, their
    scores of the items the user has not seen are combined by ``method``:

    - ``"rrf"``, reciprocal rank fusion (Cormack et al. 2009): an item
      scores ``sum_m w_m / (rrf_k + rank_m)``, its 1-based rank in each
      model's list. It needs no calibration between the models' scores.
    - ``"borda"``: ``sum_m w_m (n_items - rank_m) / n_items``, a
      (weighted) Borda count.
    - ``"weighted"``: ``sum_m w_m z_m`` of each model's scores normalised per
      user (``normalization``: min-max to [0, 1] or z-scores), the
      statistics taken over the items the user has not seen.

    Ranks are counted among the items the user has not seen (training items
    and ``history``), which rank after them; ``recommend`` and the scorers
    exclude those anyway. ``history=`` reaches every model, so the fusion
    folds in new users wherever its members do. Nested parameters
    (``recommenders__0__n_neighbors``, ``weights``, ``method``) make it
    tunable by ``GridSearchCV``.

    Parameters
    ----------
    recommenders : list of recommenders
        sk_recsys recommenders, cloned and fitted in ``fit``.
    method : {"rrf", "borda", "weighted"}, default="rrf"
    weights : array-like of shape (n_recommenders,), default=None
        Weight of each recommender (``None``: equal).
    rrf_k : float, default=60
        The constant of reciprocal rank fusion: larger values flatten the
        difference between the top ranks.
    normalization : {"minmax", "zscore"}, default="minmax"
        Per-user score normalisation of ``method="weighted"``.

    Attributes
    ----------
    recommenders_ : list of recommenders
        The fitted recommenders.
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    References
    ----------
    G. V. Cormack, C. L. A. Clarke and S. Buettcher. Reciprocal Rank Fusion
    Outperforms Condorcet and Individual Rank Learning Methods. SIGIR 2009.

    Examples
    --------
    >>> from sk_recsys.compose import RankFusion
    >>> from sk_recsys.models import EASE, ItemKNN
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
    ...      ["cid", "tea"], ["cid", "pie"], ["dan", "tea"]]
    >>> model = RankFusion([EASE(l2=1.0), ItemKNN()]).fit(X)
    >>> model.recommend(["dan"], k=2)[0].tolist()
    [['jam', 'pie']]
    """

    _members_param = "recommenders"
    _family = "composite"

    _parameter_constraints = {
        "recommenders": "no_validation",
        "method": [StrOptions({"rrf", "borda", "weighted"})],
        "weights": ["array-like", None],
        "rrf_k": [Interval(numbers.Real, 0, None, closed="left")],
        "normalization": [StrOptions({"minmax", "zscore"})],
    }

    def __init__(
        self,
        recommenders,
        method="rrf",
        weights=None,
        *,
        rrf_k=60,
        normalization="minmax",
    ):
        self.recommenders = recommenders
        self.method = method
        self.weights = weights
        self.rrf_k = rrf_k
        self.normalization = normalization

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Fit every recommender on ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1, then any context.
        y : array-like of shape (n_interactions,), default=None
            Passed to the recommenders.
        item_features, user_features : DataFrame, default=None
            Passed to the recommenders.

        Returns
        -------
        self : RankFusion
        """
        self._validate_params()
        members = check_members(self.recommenders, "recommenders", "RankFusion")
        self._weights_ = check_weights(self.weights, len(members), "RankFusion")
        self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        fit_params = side_information(item_features, user_features)
        self.recommenders_ = [clone(m).fit(X, y, **fit_params) for m in members]
        self._aligned_ = [
            Aligned(m, self.users_, self.items_) for m in self.recommenders_
        ]
        return self

    def _user_scores(self, codes, history=None):
        fused = torch.zeros((len(codes), self.n_items_), dtype=torch.float64)
        for weight, member in zip(self._weights_, self._aligned_, strict=True):
            scores = member.scores(codes, history).cpu().double()
            masked = seen_mask(scores, self.interactions_, codes, history)
            if self.method == "weighted":
                part = normalized(scores, masked, self.normalization)
            else:
                order = torch.argsort(masked, dim=1, descending=True, stable=True)
                rank = torch.empty_like(order)
                rank.scatter_(1, order, torch.arange(self.n_items_).expand_as(order))
                if self.method == "rrf":
                    part = 1.0 / (self.rrf_k + rank + 1.0)
                else:
                    part = (self.n_items_ - rank) / self.n_items_
            fused += weight * part
        return fused.float()

    def _score_users(self, users):
        return self._user_scores(users)

    def _score_history(self, rows):  # history goes to the recommenders instead
        return None
