"""TopRated: rank items by their damped mean rating."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from sk_recsys.base import RecommenderMixin


class TopRated(RecommenderMixin, BaseEstimator):
    """Recommend the best-rated items, with a prior against tiny samples.

    An item's score is its damped mean rating
    ``(sum of its ratings + damping * global mean) / (n ratings + damping)``,
    so an item rated 5 once does not beat one rated 4.5 a hundred times.
    ``predict`` adds the user's damped offset from the global mean, on the
    rating scale. With implicit feedback (``y=None``) every rating is 1 and
    the ranking falls back to popularity.

    Parameters
    ----------
    damping : float, default=5.0
        Weight of the global-mean prior, in pseudo-ratings.

    Attributes
    ----------
    item_scores_ : ndarray of shape (n_items_,)
        Damped mean rating (plus a popularity tie-break) of each item.
    user_offsets_ : ndarray of shape (n_users_,)
        Damped mean deviation of each user from the global mean.

    Examples
    --------
    >>> from sk_recsys_toprated import TopRated
    >>> X = [["ann", "tea"], ["bob", "tea"], ["bob", "jam"], ["cid", "pie"]]
    >>> model = TopRated(damping=1).fit(X, [5, 4, 2, 3])
    >>> model.recommend(["cid"], k=2)[0].tolist()
    [['tea', 'jam']]
    """

    #: Shown in the family column of ``sk-recsys models``.
    _family = "baseline"

    _parameter_constraints = {
        "damping": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, damping=5.0):
        self.damping = damping

    def fit(self, X, y=None, **fit_params):
        """Compute damped item means and user offsets."""
        self._validate_params()
        data = self._fit_interactions(X, y, **fit_params)
        ratings = np.ones(len(data.users)) if data.y is None else data.y
        mean = ratings.mean()
        item_sum = np.bincount(data.items, ratings, minlength=self.n_items_)
        item_n = np.bincount(data.items, minlength=self.n_items_)
        item_mean = (item_sum + self.damping * mean) / (item_n + self.damping + 1e-12)
        user_sum = np.bincount(data.users, ratings - mean, minlength=self.n_users_)
        user_n = np.bincount(data.users, minlength=self.n_users_)
        self.user_offsets_ = user_sum / (user_n + self.damping + 1e-12)
        # Popularity breaks ties (all-equal implicit ratings) without ever
        # outweighing a difference in mean rating.
        tie_break = item_n / (item_n.max() + 1.0) * 1e-3
        self.item_scores_ = (item_mean + tie_break).astype(np.float32)
        self.explicit_ = data.y is not None
        return self

    def _predicts_ratings(self):
        return self.explicit_

    def _score_users(self, users):
        return np.tile(self.item_scores_, (len(users), 1))

    def _predict_pairs(self, users, items):
        if not self.explicit_:
            return self.item_scores_[items].astype(np.float64)
        return self.item_scores_[items] + self.user_offsets_[users]
