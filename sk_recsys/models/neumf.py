"""Neural collaborative filtering (NeuMF) trained through skorch."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval, StrOptions

from ..nn import NeuMFModule, SampledBCELoss
from ._neural import NeuralRecommender

__all__ = ["NeuMF"]


class NeuMF(NeuralRecommender):
    """Neural matrix factorisation (He et al., WWW 2017).

    A generalised matrix factorisation path (element-wise product of user
    and item vectors) and an MLP path (over the concatenated vectors) are
    fused into one logit, trained with the pointwise log loss: each observed
    (user, item) row is a positive, ``n_negatives`` items sampled per row
    are negatives. Ratings in ``y`` are not used by the loss (every observed
    row counts as a positive). Ranking runs the network on every (user,
    item) pair of a chunk of users at once, on ``device``.

    Parameters
    ----------
    n_factors : int, default=32
        Dimension of the GMF vectors.
    hidden : tuple of int, default=(64, 32, 16)
        MLP widths; its input embeddings have ``hidden[0] // 2`` dimensions.
    dropout : float, default=0.0
        Dropout after each MLP layer.
    n_negatives : int, default=4
    negative_sampling : {"uniform", "popularity"}, default="uniform"
    lr : float, default=1e-3
    max_epochs : int, default=30
    batch_size, optimizer, train_split, callbacks, device, random_state
        See :class:`NeuralRecommender`.
    **kwargs
        Every other skorch parameter.

    Attributes
    ----------
    module_ : NeuMFModule
    history_ : skorch History
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import NeuMF
    >>> X, _ = make_interactions(200, 100, random_state=0, return_X_y=True)
    >>> model = NeuMF(n_factors=8, hidden=(16, 8), max_epochs=3, random_state=0)
    >>> model.fit(X).recommend([0], k=3)[0].shape
    (1, 3)
    """

    _family = "neural"

    _skorch_defaults = {"max_epochs": 30}

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden": [tuple, list],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left")],
        "negative_sampling": [StrOptions({"uniform", "popularity"})],
    }

    def __init__(
        self,
        n_factors=32,
        *,
        hidden=(64, 32, 16),
        dropout=0.0,
        n_negatives=4,
        negative_sampling="uniform",
        module=NeuMFModule,
        **kwargs,
    ):
        super().__init__(module, **{**self._skorch_defaults, **kwargs})
        self.n_factors = n_factors
        self.hidden = hidden
        self.dropout = dropout
        self.n_negatives = n_negatives
        self.negative_sampling = negative_sampling

    def _module_params(self):
        return {
            "n_users": self.n_users_,
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "hidden": tuple(self.hidden),
            "dropout": self.dropout,
        }

    def _default_criterion(self):
        return SampledBCELoss()
