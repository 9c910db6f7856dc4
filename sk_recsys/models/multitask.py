"""Multi-task recommender: rating and interaction heads on a shared body."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ..nn import MultiTaskLoss, MultiTaskModule, ScoredBatch
from ._neural import NeuralRecommender
from ._side import SideInformationMixin

__all__ = ["MultiTaskRecommender"]


class MultiTaskRecommender(SideInformationMixin, NeuralRecommender):
    """Multi-task learning: predict the rating and the interaction jointly.

    A shared MLP body over the user and item embeddings (and the item's
    content encoding when ``item_features`` are given) feeds two heads: a
    rating head regressed on ``y`` (squared error) and an interaction head
    trained with the log loss, observed rows against ``n_negatives``
    sampled items. The loss is ``task_weight * rating + (1 - task_weight) *
    interaction``: what the body learns from ratings helps ranking and the
    other way round.

    ``predict`` returns the rating head (on the scale of ``y``, clipped to
    its range; the global mean for unknown rows); ``score_items`` and
    ``recommend`` rank by the interaction head. Without ``y`` only the
    interaction head is trained and ``predict`` returns its logit.

    Parameters
    ----------
    n_factors : int, default=32
    hidden : tuple of int, default=(64, 32)
        Widths of the shared body.
    task_weight : float, default=0.2
        Weight of the rating task in ``[0, 1]``.
    n_negatives : int, default=4
    text_encoder, image_encoder, vocab_size, max_length, encoder_width
        As in :class:`ContentRecommender`, for ``item_features``.
    lr : float, default=3e-3
    max_epochs : int, default=20
    batch_size, optimizer, train_split, callbacks, device, random_state
        See :class:`NeuralRecommender`.
    **kwargs
        Every other skorch parameter.

    Attributes
    ----------
    module_ : MultiTaskModule
    rating_range_ : tuple of float
        Range of ``y`` in ``fit`` (when given).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import MultiTaskRecommender
    >>> X, y = make_interactions(200, 100, random_state=0, return_X_y=True)
    >>> model = MultiTaskRecommender(max_epochs=2, random_state=0).fit(X, y)
    >>> bool(1.0 <= model.predict(X.iloc[:1])[0] <= 5.0)
    True
    """

    _family = "multi-task"

    _skorch_defaults = {"lr": 3e-3}

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden": [tuple, list],
        "task_weight": [Interval(numbers.Real, 0, 1, closed="both")],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left")],
        **SideInformationMixin._side_constraints,
    }

    def __init__(
        self,
        n_factors=32,
        *,
        hidden=(64, 32),
        task_weight=0.2,
        n_negatives=4,
        text_encoder="cnn",
        image_encoder="cnn",
        vocab_size=5000,
        max_length=32,
        encoder_width=64,
        module=MultiTaskModule,
        **kwargs,
    ):
        super().__init__(module, **{**self._skorch_defaults, **kwargs})
        self.n_factors = n_factors
        self.hidden = hidden
        self.task_weight = task_weight
        self.n_negatives = n_negatives
        self.text_encoder = text_encoder
        self.image_encoder = image_encoder
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.encoder_width = encoder_width

    def _configure(self, data, *, item_features=None, user_features=None):
        self._encode_side_information(item_features, None, needs_items=False)
        self.explicit_ = data.y is not None
        if self.explicit_ and len(data.y):
            self.rating_range_ = (float(data.y.min()), float(data.y.max()))

    def _module_params(self):
        params = self._side_module_params()
        params.pop("user_content")
        return {
            "n_users": self.n_users_,
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "hidden": tuple(self.hidden),
            "global_bias": self.global_mean_ if self.explicit_ else 0.0,
            **params,
        }

    def _default_criterion(self):
        return MultiTaskLoss(self.task_weight)

    def _forward_batch(self, Xi, yi=None):
        users, items = Xi
        rating, logit = self.module_.both(users, items)
        negatives = self._sampler_.sample(users, self.n_negatives)
        negative = self.module_(users[:, None], negatives)
        return ScoredBatch(logit, negative, users, items, negatives, rating=rating)

    def _predicts_ratings(self):
        return self.explicit_

    def _predict_pairs(self, users, items):
        if not self.explicit_:
            return super()._predict_pairs(users, items)
        self._set_training(False)
        with torch.no_grad():
            ratings = self.module_.rating(
                self._device_tensor(users), self._device_tensor(items)
            )
        return np.clip(ratings.cpu().numpy().astype(np.float64), *self.rating_range_)
