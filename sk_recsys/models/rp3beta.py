"""RP3beta: item-item random walks with a popularity penalty."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import Interval

from ..base import RecommenderMixin
from . import _kernels
from ._item_item import ItemItemMixin
from .knn import product_blocks, top_k_rows, top_k_sparse_columns

__all__ = ["RP3Beta", "item_transitions"]


def _steps(matrix: sp.csr_matrix, alpha: float):
    """The user->item and item->user transition matrices, raised to ``alpha``."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    user_item = normalize(matrix, norm="l1", axis=1)
    item_user = normalize(sp.csr_matrix(matrix.T), norm="l1", axis=1)
    if alpha != 1.0:
        user_item.data **= alpha
        item_user.data **= alpha
    return user_item, item_user


def item_transitions(matrix, alpha=1.0) -> sp.csr_matrix:
    """Probabilities of the two-step walk item -> user -> item.

    Row ``i`` is where a walk from item ``i`` lands after stepping to one of
    its users (uniformly, or in proportion to ``y``) and on to one of that
    user's items. With ``alpha=1`` each row with any user sums to 1;
    ``alpha`` raises every step's probability to that power first (P3alpha).

    Parameters
    ----------
    matrix : sparse matrix of shape (n_users, n_items)
        Interaction strengths.
    alpha : float, default=1.0

    Returns
    -------
    transitions : csr_matrix of shape (n_items, n_items)

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_recsys.models.rp3beta import item_transitions
    >>> X = sp.csr_matrix([[1, 1, 0], [1, 0, 1]])
    >>> item_transitions(X).toarray()
    array([[0.5 , 0.25, 0.25],
           [0.5 , 0.5 , 0.  ],
           [0.5 , 0.  , 0.5 ]])
    """
    user_item, item_user = _steps(matrix, alpha)
    return sp.csr_matrix(item_user @ user_item)


class RP3Beta(ItemItemMixin, RecommenderMixin, BaseEstimator):
    """Random-walk item similarity with a popularity penalty (RP3beta).

    The weight from item ``j`` to item ``i`` is the probability that a
    two-step walk ``j -> user -> i`` over the interaction graph ends at
    ``i`` (each step's probability raised to ``alpha``; see
    :func:`item_transitions`), divided by ``popularity_i ** beta``, which
    lowers the weight of items that many walks reach only because they are
    popular. Each item keeps its ``n_neighbors`` largest outgoing weights
    (its own weight is 0), optionally rescaled to sum to 1 (``normalize``),
    then its ``n_neighbors`` largest incoming ones, the two pruning passes
    of Ferrari Dacrema et al.'s reference code. A user's score for ``i`` is
    ``sum_j x_uj W_ji`` over the user's items, so new users are folded in
    from ``history=`` without refitting, and :meth:`explain` lists the
    history items by their term.

    The walk probabilities are computed a block of items at a time, so the
    dense ``n_items x n_items`` matrix is never held.

    Parameters
    ----------
    alpha : float, default=1.0
        Exponent of the transition probabilities (1: the plain walk).
    beta : float, default=0.5
        Popularity penalty: 0 is P3alpha, larger values favour rarer items.
    n_neighbors : int, default=100
        Weights kept per item.
    normalize : bool, default=False
        Rescale each item's kept outgoing weights to sum to 1 (before the
        second pruning pass).

    Attributes
    ----------
    coef_ : scipy.sparse.csr_matrix of shape (n_items_, n_items_)
        ``W``: row ``j`` holds the weights from item ``j`` to its neighbours.
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    References
    ----------
    B. Paudel, F. Christoffel, C. Newell and A. Bernstein. Updatable,
    Accurate, Diverse, and Scalable Recommendations for Interactive
    Applications. ACM TiiS 7(1), 2016.

    M. Ferrari Dacrema, P. Cremonesi and D. Jannach. Are We Really Making
    Much Progress? A Worrying Analysis of Recent Neural Recommendation
    Approaches. RecSys 2019.

    Examples
    --------
    >>> from sk_recsys.models import RP3Beta
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
    ...      ["cid", "tea"], ["cid", "pie"], ["dan", "tea"]]
    >>> model = RP3Beta().fit(X)
    >>> model.recommend(["dan"], k=1)[0].tolist()
    [['jam']]
    >>> model.explain("dan", "jam")["reason"].tolist()
    ['tea']
    """

    _family = "neighbourhood"
    # The walk steps in proportion to y, so a user's row is read with y.
    binarize = False

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="neither")],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
    }

    def __init__(self, alpha=1.0, beta=0.5, n_neighbors=100, normalize=False):
        self.alpha = alpha
        self.beta = beta
        self.n_neighbors = n_neighbors
        self.normalize = normalize

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Compute the pruned walk weights.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Non-negative interaction strengths that weight the walk's
            steps; ``None`` means 1 each.
        item_features, user_features : DataFrame, default=None
            Side information indexed by raw id; only extends the catalog.

        Returns
        -------
        self : RP3Beta
        """
        self._validate_params()
        data = self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        if data.y is not None and (np.asarray(data.y) < 0).any():
            raise ValueError(
                "RP3Beta reads y as non-negative walk weights; shift or clip "
                "negative values (or pass y=None)."
            )
        user_item, item_user = _steps(self.interactions_, self.alpha)
        popularity = self.item_popularity_.astype(np.float64)
        penalty = np.zeros_like(popularity)
        seen = popularity > 0
        penalty[seen] = popularity[seen] ** -self.beta
        user_item = user_item @ sp.diags(penalty)

        own = np.arange(self.n_items_)
        if _kernels.AVAILABLE:
            # the product and its ranking in one compiled pass
            weights = _kernels.product_top_k(
                item_user, user_item, self.n_neighbors, exclude=own
            )
        else:
            weights = top_k_rows(
                product_blocks(item_user, user_item),
                self.n_items_,
                self.n_items_,
                self.n_neighbors,
                exclude=own,
            )
        if self.normalize:
            weights = normalize(weights, norm="l1", axis=1)
        # The reference code's second pass: each item also keeps only its
        # n_neighbors strongest incoming weights (top-k per column).
        weights = top_k_sparse_columns(weights, self.n_neighbors)
        self._set_coef(weights)
        return self
