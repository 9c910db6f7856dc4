"""Deep matrix factorisation (DMF) trained through skorch."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ..nn import DeepMFModule, NormalizedCrossEntropyLoss
from ._neural import NeuralRecommender

__all__ = ["DeepMF"]


class DeepMF(NeuralRecommender):
    """Deep matrix factorisation (Xue et al., IJCAI 2017).

    A user is represented by their row of the interaction matrix and an item
    by its column; two MLP towers map them to vectors, and the predicted
    preference is their cosine, floored at ``1e-6``. Training minimises the
    normalised cross-entropy: observed rows have target ``y / max(y)`` (1
    without ratings), ``n_negatives`` sampled items per row have target 0.
    Because a user *is* their row, a new user is folded in from ``history=``
    by running the user tower on it, without refitting.

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the final user and item vectors.
    hidden : tuple of int, default=(256,)
        Widths of the hidden layers of both towers.
    n_negatives : int, default=4
    negative_sampling : {"uniform", "popularity"}, default="uniform"
    max_epochs : int, default=8
        Validation NDCG on MovieLens-100K peaks within ten epochs.
    lr, batch_size, optimizer, train_split, callbacks, device, random_state
        See :class:`NeuralRecommender`.
    **kwargs
        Every other skorch parameter.

    Attributes
    ----------
    module_ : DeepMFModule
    history_ : skorch History
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import DeepMF
    >>> X, y = make_interactions(200, 100, random_state=0, return_X_y=True)
    >>> model = DeepMF(n_factors=8, hidden=(16,), max_epochs=3, random_state=0)
    >>> model.fit(X, y).recommend([0], k=3)[0].shape
    (1, 3)
    """

    _family = "neural"

    # Validation NDCG on MovieLens-100K peaks within ten epochs; longer
    # training overfits (see benchmarks/NOTES.md).
    _skorch_defaults = {"max_epochs": 8}

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden": [tuple, list],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left")],
        "negative_sampling": [StrOptions({"uniform", "popularity"})],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        hidden=(256,),
        n_negatives=4,
        negative_sampling="uniform",
        module=DeepMFModule,
        **kwargs,
    ):
        super().__init__(module, **{**self._skorch_defaults, **kwargs})
        self.n_factors = n_factors
        self.hidden = hidden
        self.n_negatives = n_negatives
        self.negative_sampling = negative_sampling

    def _configure(self, data, **features):
        values = self.interactions_.data
        self.max_rating_ = float(values.max()) if len(values) else 1.0
        if self.max_rating_ <= 0:
            raise ValueError(
                "DeepMF needs positive ratings or weights in y (the largest "
                f"is {self.max_rating_}); pass y=None for implicit feedback."
            )

    def _module_params(self):
        matrix = self.interactions_
        return {
            "indptr": matrix.indptr.astype(np.int64),
            "indices": matrix.indices.astype(np.int64),
            "values": (matrix.data / self.max_rating_).astype(np.float32),
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "hidden": tuple(self.hidden),
        }

    def _score_positives(self, users, items, y):
        # A training pair is in its own tower inputs: leave it out, or the
        # towers learn to spot it instead of learning taste.
        if not self.module_.training:
            return self.module_(users, items)
        value = torch.ones_like(users, dtype=torch.float32) if y is None else y
        return self.module_(users, items, leave_out=value / self.max_rating_)

    def _on_new_interactions(self):
        params = self._module_params()
        self.module_.set_matrix(params["indptr"], params["indices"], params["values"])

    def _default_criterion(self):
        return NormalizedCrossEntropyLoss(max_rating=self.max_rating_)

    def _score_history(self, rows):
        """A new user is their row: run the user tower on it."""
        self._set_training(False)
        coo = rows.tocoo()
        with torch.no_grad():
            vectors = self.module_.users_from_rows(
                self._device_tensor(coo.row.astype(np.int64)),
                self._device_tensor(coo.col.astype(np.int64)),
                self._device_tensor((coo.data / self.max_rating_).astype(np.float32)),
                rows.shape[0],
            )
            return self.module_.score_vectors(vectors)
