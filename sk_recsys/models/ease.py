"""EASE: the closed-form shallow autoencoder of Steck (2019)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import RecommenderMixin
from ..utils import resolve_device
from ..utils._linalg import spd_inverse
from ._item_item import ItemItemMixin

__all__ = ["EASE"]


class EASE(ItemItemMixin, RecommenderMixin, BaseEstimator):
    """Embarrassingly Shallow Autoencoder (Steck, WWW 2019).

    Learns an item-item weight matrix ``B`` that reconstructs each user's
    row from their other items,
    ``min_B |X - X B|^2 + l2 |B|^2`` subject to ``diag(B) = 0``, in closed
    form: with ``P = (X^T X + l2 I)^-1``, ``B = -P / diag(P)`` and a zero
    diagonal. A user's scores are ``x_u B``, so new users are folded in from
    ``history=`` without refitting. The inversion runs in torch on
    ``device`` by recursive block inversion (about ``4/3 n_items^3`` flops,
    nearly all in matrix products); it takes O(n_items^2) memory, which
    suits catalogs up to a few tens of thousands of items. On Last.fm-2K
    (17,632 items, one thread of a 2-core Xeon) the fit took 97 s in float64
    and 51 s in float32, with the same NDCG@10 (``benchmarks/ease_speed.py``).

    Parameters
    ----------
    l2 : float, default=500.0
        L2 regularisation of ``B``; larger values favour popular items less
        sharply.
    binarize : bool, default=True
        Count every interaction as 1, ignoring ``y``, as in Steck's
        formulation; ratings used as weights rank worse (on MovieLens-100K
        ``ua``, NDCG@10 0.25 against 0.32). Set False to weight the Gram
        matrix by ``y`` (e.g. normalised play counts).
    dtype : {"float64", "float32"}, default="float64"
        Precision of the inversion. ``"float32"`` halves the time and the
        memory of the fit; with a regularised Gram matrix (``l2`` in the
        hundreds) it ranks the same, but a small ``l2`` on dense data can
        leave it ill-conditioned, hence the float64 default. The weights
        are stored in float32 either way.
    device : str, default="cpu"
        Torch device for fitting and scoring (``"cuda"`` for a GPU). A model
        fitted on a GPU unpickles on a machine without one, on the CPU.

    Attributes
    ----------
    coef_ : ndarray of shape (n_items_, n_items_)
        The weight matrix ``B`` (float32, on the CPU).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    References
    ----------
    H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019.

    Examples
    --------
    >>> from sk_recsys.models import EASE
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
    ...      ["cid", "tea"], ["cid", "pie"], ["dan", "tea"]]
    >>> model = EASE(l2=1.0).fit(X)
    >>> model.recommend(["dan"], k=1)[0].tolist()
    [['jam']]
    """

    _family = "linear"

    _parameter_constraints = {
        "l2": [Interval(numbers.Real, 0, None, closed="neither")],
        "binarize": ["boolean"],
        "dtype": [StrOptions({"float64", "float32"})],
        "device": [str, torch.device],
    }

    def __init__(self, l2=500.0, binarize=True, dtype="float64", device="cpu"):
        self.l2 = l2
        self.binarize = binarize
        self.dtype = dtype
        self.device = device

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Solve for the item-item weights.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Interaction weights (e.g. ratings); ``None`` means 1 each.
        item_features, user_features : DataFrame, default=None
            Side information indexed by raw id; only extends the catalog.

        Returns
        -------
        self : EASE
        """
        self._validate_params()
        device = resolve_device(self.device)
        self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        matrix = self.interactions_
        if self.binarize:
            matrix = (matrix != 0).astype(np.float32)
        gram = torch.from_numpy((matrix.T @ matrix).toarray().astype(np.float32))
        gram = gram.to(device, getattr(torch, self.dtype))
        gram.diagonal().add_(float(self.l2))
        precision = spd_inverse(gram)
        del gram
        weights = -precision / precision.diagonal()
        weights.fill_diagonal_(0.0)
        self._set_coef(weights)
        return self
