"""Content-based recommender: items are what their features say."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ..nn import (
    BPRLoss,
    ContentModule,
    SampledBCELoss,
    SampledSoftmaxLoss,
    ScoredBatch,
    fold_in,
)
from ._neural import NeuralRecommender
from ._side import SideInformationMixin

__all__ = ["ContentRecommender"]

_LOSSES = {"bpr": BPRLoss, "bce": SampledBCELoss, "softmax": SampledSoftmaxLoss}


class ContentRecommender(SideInformationMixin, NeuralRecommender):
    """Content-based recommendation with CNN/RNN text and CNN image encoders.

    An item's vector is computed from its features only: numeric columns
    through a ReLU layer, text through a 1-D CNN (``text_encoder="cnn"``:
    convolutions and max-pooling) or a GRU (``"rnn"``), images through a
    small CNN, the encodings fused by concatenation and a linear layer. A
    user's vector is a learned embedding, plus, with ``user_profile=True``,
    the mean of the vectors of their training items (a user of few
    interactions is then still described by what they chose) and, when
    ``user_features`` are given, the same kind of encoding of the user's
    features. The score is
    their dot product, trained with a ranking loss on sampled negatives.

    Because no item id enters the item tower, an item nobody interacted with
    (present only in ``item_features``) is scored like any other: new-item
    cold start. A new user is folded in from ``history=`` (a ridge fold-in
    against the item vectors, or the mean of their items' vectors with
    ``user_profile``), a user known only from
    ``user_features`` is served from those, others by popularity. Without
    ``item_features`` the item tower falls back to an id embedding, with a
    warning.

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the user and item vectors.
    text_encoder : {"cnn", "rnn"}, default="cnn"
    image_encoder : {"cnn"}, default="cnn"
    vocab_size : int, default=5000
        Most frequent tokens kept from the text columns.
    max_length : int, default=32
        Tokens read per item.
    encoder_width : int, default=64
        Width of each modality's encoding.
    word_dropout : float in [0, 1), default=0.5
        Probability that training deletes each word of an item's (or
        user's) text, a new subset at every step (word dropout, Iyyer et
        al., 2015); prediction reads every word. Titles whose exact words
        name single items let the text encoder memorise the training items
        (their popularity, say), which does not carry over to new items and,
        fitting fast, leaves the numeric and image encoders under-trained.
        The default was chosen on cold items held out of the training rows
        of ``make_interactions`` (see ``benchmarks/NOTES.md``).
    user_profile : bool, default=False
        Add the mean of the user's item vectors to their vector. Training
        then encodes the whole catalog at each step (about 20 times slower on
        MovieLens-100K, and no better there, see ``benchmarks/NOTES.md``).
    loss : {"bpr", "bce", "softmax"}, default="bpr"
    n_negatives : int, default=4
    l2 : float, default=0.01
        Weight of the mean squared norm of the batch's user embeddings.
    lr : float, default=3e-3
    max_epochs : int, default=20
    batch_size, optimizer, train_split, callbacks, device, random_state
        See :class:`NeuralRecommender`.
    **kwargs
        Every other skorch parameter.

    Attributes
    ----------
    module_ : ContentModule
    item_feature_encoder_, user_feature_encoder_ : FeatureEncoder or None
        How the features were encoded (column kinds, vocabulary).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import ContentRecommender
    >>> data = make_interactions(200, 100, random_state=0)
    >>> model = ContentRecommender(n_factors=16, max_epochs=2, random_state=0)
    >>> model.fit(data.X, item_features=data.item_features).recommend([0], k=3)[0].shape
    (1, 3)
    """

    _family = "content"

    _skorch_defaults = {"lr": 3e-3}

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(_LOSSES))],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left")],
        "l2": [Interval(numbers.Real, 0, None, closed="left")],
        "user_profile": ["boolean"],
        "word_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        **SideInformationMixin._side_constraints,
    }

    def __init__(
        self,
        n_factors=64,
        *,
        text_encoder="cnn",
        image_encoder="cnn",
        vocab_size=5000,
        max_length=32,
        encoder_width=64,
        word_dropout=0.5,
        user_profile=False,
        loss="bpr",
        n_negatives=4,
        l2=0.01,
        module=ContentModule,
        **kwargs,
    ):
        super().__init__(module, **{**self._skorch_defaults, **kwargs})
        self.n_factors = n_factors
        self.text_encoder = text_encoder
        self.image_encoder = image_encoder
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.encoder_width = encoder_width
        self.word_dropout = word_dropout
        self.user_profile = user_profile
        self.loss = loss
        self.n_negatives = n_negatives
        self.l2 = l2

    def _configure(self, data, *, item_features=None, user_features=None):
        self._encode_side_information(item_features, user_features, needs_items=True)

    def _encoder_options(self) -> dict:
        return {**super()._encoder_options(), "word_dropout": self.word_dropout}

    def _module_params(self):
        matrix = self.interactions_
        history = (matrix.indptr, matrix.indices) if self.user_profile else None
        return {
            "n_users": self.n_users_,
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "history": history,
            "users_with_data": self._has_data(axis=1),
            **self._side_module_params(),
        }

    def _on_new_interactions(self):
        if self.user_profile:
            raise ValueError(
                "partial_fit cannot update the content profiles of "
                "ContentRecommender(user_profile=True); refit instead."
            )

    def _forward_batch(self, Xi, yi=None):
        users, items = Xi
        negatives = self._sampler_.sample(users, self.n_negatives)
        positive, negative = self.module_.score_pairs(users, items, negatives)
        return ScoredBatch(positive, negative, users, items, negatives)

    def _default_criterion(self):
        return _LOSSES[self.loss]()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The ranking loss plus ``l2`` times the user embeddings' squared norm."""
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if not self.l2:
            return loss
        return loss + self.l2 * self.module_.penalty(y_pred.users)

    def explain(self, user, item, *, n=5):
        """The item features that drive the score of ``item`` for ``user``.

        Gradient x input of the score on the item's encoded features: one
        reason per numeric dimension (standardised, so a feature at its mean
        contributes nothing; a one-hot category reads ``"genre=Drama"``),
        per word of the text (``"word 'space'"``) and one for the image. A
        positive weight pushes the item up for this user. Without
        ``item_features`` the reasons are the user's history items, each
        weighted by its part of the profile's score ``q_j . q_i / |H|``.

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
        >>> from sk_recsys.models import ContentRecommender
        >>> data = make_interactions(100, 50, random_state=0)
        >>> model = ContentRecommender(n_factors=8, max_epochs=2, random_state=0)
        >>> model.fit(data.X, item_features=data.item_features)  # doctest: +ELLIPSIS
        ContentRecommender(...)
        >>> model.explain(0, 3, n=2).shape
        (2, 2)
        """
        if self.item_feature_encoder_ is not None:
            return self._explain_with(user, item, n)

        def weigh(u, i, row):
            self._set_training(False)
            with torch.no_grad():
                items = self.module_.all_item_vectors()
                columns = self._device_tensor(row.indices.astype(np.int64))
                weights = items[columns] @ items[i] / max(len(columns), 1)
            return weights.cpu().numpy()

        return self._explain_history(user, item, n, weigh)

    def _score_history(self, rows):
        """Serve users from their history alone: the mean of their items'
        vectors with profiles, else a ridge fold-in against the item vectors."""
        self._set_training(False)
        coo = rows.tocoo()
        owner = self._device_tensor(coo.row.astype(np.int64))
        columns = self._device_tensor(coo.col.astype(np.int64))
        with torch.no_grad():
            items = self.module_.all_item_vectors()
            if self.user_profile:
                counts = np.maximum(np.diff(rows.indptr), 1)
                weights = self._device_tensor(
                    (1.0 / counts[coo.row]).astype(np.float32)
                )
                vectors = self.module_.profiles(
                    owner, columns, weights, rows.shape[0], items
                )
            else:
                vectors, _ = fold_in(
                    items,
                    owner,
                    columns,
                    torch.ones(len(columns), device=items.device),
                    rows.shape[0],
                    l2=self.l2,
                    implicit=True,
                )
            return self.module_.score_vectors(vectors)
