"""Hybrid recommender: content and behaviour through one MLP."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval

from ..nn import HybridModule, SampledBCELoss
from ._neural import NeuralRecommender
from ._side import SideInformationMixin

__all__ = ["HybridRecommender"]


class HybridRecommender(SideInformationMixin, NeuralRecommender):
    """Content plus behaviour: ``y = f(W1 x_content + W2 x_behaviour + b)``.

    ``x_behaviour`` is the user's and the item's learned id embeddings,
    ``x_content`` the encoded features of the item (and of the user, when
    ``user_features`` are given), encoded as in
    :class:`ContentRecommender`; ``f`` is an MLP whose first layer is exactly
    ``W1 x_content + W2 x_behaviour + b``, and its output the logit of an
    interaction, trained with the log loss against sampled negatives.

    The item id embedding is dropped with probability ``id_dropout`` during
    training, so the network cannot ignore the content, and it is always
    zero for an item never seen in training: such an item is ranked from its
    content alone. New users are served from ``user_features`` when they were
    given in ``fit``, else by popularity.

    Parameters
    ----------
    n_factors : int, default=32
        Size of each embedding and content encoding.
    hidden : tuple of int, default=(64,)
        Widths of the MLP's hidden layers.
    id_dropout : float, default=0.3
    text_encoder : {"cnn", "rnn"}, default="cnn"
    image_encoder : {"cnn"}, default="cnn"
    vocab_size : int, default=5000
    max_length : int, default=32
    encoder_width : int, default=64
    n_negatives : int, default=4
    lr : float, default=3e-3
    max_epochs : int, default=20
    batch_size, optimizer, train_split, callbacks, device, random_state
        See :class:`NeuralRecommender`.
    **kwargs
        Every other skorch parameter.

    Attributes
    ----------
    module_ : HybridModule
    item_feature_encoder_, user_feature_encoder_ : FeatureEncoder or None
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import HybridRecommender
    >>> data = make_interactions(200, 100, random_state=0)
    >>> model = HybridRecommender(max_epochs=2, random_state=0)
    >>> model.fit(data.X, item_features=data.item_features).recommend([0], k=3)[0].shape
    (1, 3)
    """

    _family = "hybrid"

    _skorch_defaults = {"lr": 3e-3}

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden": [tuple, list],
        "id_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left")],
        **SideInformationMixin._side_constraints,
    }

    def __init__(
        self,
        n_factors=32,
        *,
        hidden=(64,),
        id_dropout=0.3,
        text_encoder="cnn",
        image_encoder="cnn",
        vocab_size=5000,
        max_length=32,
        encoder_width=64,
        n_negatives=4,
        module=HybridModule,
        **kwargs,
    ):
        super().__init__(module, **{**self._skorch_defaults, **kwargs})
        self.n_factors = n_factors
        self.hidden = hidden
        self.id_dropout = id_dropout
        self.text_encoder = text_encoder
        self.image_encoder = image_encoder
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.encoder_width = encoder_width
        self.n_negatives = n_negatives

    def _configure(self, data, *, item_features=None, user_features=None):
        self._encode_side_information(item_features, user_features, needs_items=True)

    def _module_params(self):
        return {
            "n_users": self.n_users_,
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "hidden": tuple(self.hidden),
            "id_dropout": self.id_dropout,
            "items_with_data": self._has_data(axis=0),
            **self._side_module_params(),
        }

    def explain(self, user, item, *, n=5):
        """The item features, and the behaviour signal, behind a score.

        Gradient x input of the interaction logit: one reason per item
        feature, as in :meth:`ContentRecommender.explain`, plus
        ``"behaviour"`` for the user and item id embeddings together (what
        the model learned from interactions rather than from content). A
        cold item's behaviour part is 0.

        Parameters
        ----------
        user, item : scalar
            Raw ids.
        n : int, default=5
            Reasons returned.

        Returns
        -------
        explanation : DataFrame
            ``reason`` and ``weight``, largest first; empty for an unknown
            user or item.

        Examples
        --------
        >>> from sk_recsys.datasets import make_interactions
        >>> from sk_recsys.models import HybridRecommender
        >>> data = make_interactions(100, 50, random_state=0)
        >>> model = HybridRecommender(max_epochs=2, random_state=0)
        >>> model.fit(data.X, item_features=data.item_features)  # doctest: +ELLIPSIS
        HybridRecommender(...)
        >>> "behaviour" in set(model.explain(0, 3, n=50)["reason"])
        True
        """
        return self._explain_with(user, item, n, extra_reasons=("behaviour",))

    def _default_criterion(self):
        return SampledBCELoss()
