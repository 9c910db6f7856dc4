"""Most-popular baseline."""

from __future__ import annotations

from sklearn.base import BaseEstimator

from ..base import RecommenderMixin

__all__ = ["Popularity"]


class Popularity(RecommenderMixin, BaseEstimator):
    """Recommend the items most users interacted with.

    Every user gets the same ranking (minus the items they have seen):
    items ordered by their number of distinct training users. It is the
    baseline every personalised model must beat, and the fallback the other
    models use for unknown users.

    Attributes
    ----------
    item_popularity_ : ndarray of shape (n_items_,)
        Distinct training users per item, the score of every user.
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.models import Popularity
    >>> X = [[1, "tea"], [2, "tea"], [2, "jam"], [3, "pie"], [3, "tea"]]
    >>> model = Popularity().fit(X)
    >>> ids, scores = model.recommend([3], k=1)
    >>> ids.tolist(), scores.tolist()
    ([['jam']], [[1.0]])
    """

    _family = "baseline"

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Count the distinct users of each item.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Ignored beyond validation.
        item_features, user_features : DataFrame, default=None
            Side information indexed by raw id; items only listed there join
            the catalog with popularity 0.

        Returns
        -------
        self : Popularity
        """
        self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        return self

    def _score_users(self, users):
        return self._popularity_scores(len(users), "cpu")

    def _score_history(self, rows):
        return self._popularity_scores(rows.shape[0], "cpu")
