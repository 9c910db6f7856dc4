"""GRU4Rec: recurrent next-item recommendation, trained through skorch."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval

from ..nn import GRU4RecModule
from ._sequential import SequentialRecommender

__all__ = ["GRU4Rec"]


class GRU4Rec(SequentialRecommender):
    """Session-based recommendation with recurrent networks (Hidasi et al., ICLR 2016).

    A GRU reads each user's items in time order; its state after each item
    scores the next one against separate output item vectors. It follows
    the corrections the GRU4Rec authors list for third-party
    reimplementations (Hidasi & Czapp, RecSys 2023): the loss is the
    cross-entropy of the next item against many sampled negatives (not a
    pointwise loss on the positive alone), every sequence's state starts at
    zero at its first item and padding never enters it (padded batches
    with the real items first, rather than sessions cut into fixed windows
    with a carried state), and the output layer has its own item vectors. Like
    :class:`SASRec`, it serves unknown users and anonymous sessions from an
    ordered ``history`` without refitting. See ``docs/sequential.rst``.

    Parameters
    ----------
    n_factors : int, default=64
        Width of the embeddings and of the GRU state.
    n_layers : int, default=1
    dropout : float, default=0.2
        On the input embeddings and the GRU outputs.
    max_len : int, default=50
    loss : {"softmax", "gbce", "bce"}, default="softmax"
    n_negatives : int or None, default=None
    gbce_t : float, default=0.75
    time_column : int, str or None, default=2
    train_windows : {"last", "all"}, default="last"
        Each user's last ``max_len + 1`` items, or every next item of the
        whole sequence (see :class:`SequentialRecommender`).
    lr : float, default=1e-3
    max_epochs : int, default=50
    batch_size : int, default=128
        Windows (one a user with ``train_windows="last"``) per training
        step.
    iterator_train : type, default=SequenceIterator
        Batches of windows of similar length, each cut to its longest.
    optimizer, callbacks, device, random_state
        See :class:`NeuralRecommender`.
    **kwargs
        Every other skorch parameter.

    Attributes
    ----------
    module_ : GRU4RecModule
    sequence_indptr_, sequence_items_ : ndarray
        Each user's training items in time order (see :class:`SASRec`).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import GRU4Rec
    >>> X, _ = make_interactions(100, 50, random_state=0, return_X_y=True)
    >>> model = GRU4Rec(n_factors=16, max_len=10, max_epochs=2, random_state=0)
    >>> model.fit(X).recommend([-1], k=3, history=[[3, 7, 1]])[0].shape
    (1, 3)
    """

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        n_layers=1,
        dropout=0.2,
        max_len=50,
        loss="softmax",
        n_negatives=None,
        gbce_t=0.75,
        time_column=2,
        train_windows="last",
        module=GRU4RecModule,
        **kwargs,
    ):
        super().__init__(
            module,
            max_len=max_len,
            loss=loss,
            n_negatives=n_negatives,
            gbce_t=gbce_t,
            time_column=time_column,
            train_windows=train_windows,
            **{**self._skorch_defaults, **kwargs},
        )
        self.n_factors = n_factors
        self.n_layers = n_layers
        self.dropout = dropout

    def _module_params(self):
        return {
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "n_layers": self.n_layers,
            "dropout": self.dropout,
        }
