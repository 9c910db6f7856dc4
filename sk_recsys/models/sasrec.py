"""SASRec: self-attentive sequential recommendation, trained through skorch."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval

from ..nn import SASRecModule
from ._sequential import SequentialRecommender

__all__ = ["SASRec"]


class SASRec(SequentialRecommender):
    """Self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

    Each user's rows, ordered by ``time_column``, form a sequence; causal
    self-attention over its item embeddings (with learned positions) gives
    a state after every item, which scores the next one by a dot product
    with the item embeddings. Training predicts every next item of each
    user's last ``max_len + 1`` items at once. ``recommend`` scores the
    catalog after the user's latest items, followed by an ordered
    ``history``; an unknown user or an anonymous session is served from
    its ``history`` alone (session-based recommendation, no refit). See
    ``docs/sequential.rst``.

    The default loss is the cross-entropy of the next item over the whole
    catalog (``loss="softmax"``, ``n_negatives=None``), which measured best
    on the validation split of the leave-last-out MovieLens-100K benchmark
    (``benchmarks/NOTES.md``: NDCG@10 0.108, against 0.087 with 256
    sampled negatives, 0.102 for ``"bce"`` and 0.037 for ``"gbce"`` in 100
    epochs); ``loss="gbce"`` is gSASRec's calibrated BCE (Petrov &
    Macdonald, RecSys 2023) and ``loss="bce"`` the original one-negative
    log loss. For catalogs of tens of thousands of items, sample
    negatives (``n_negatives=256``): the full softmax holds every item's
    score for every position of a batch.

    Parameters
    ----------
    n_factors : int, default=64
        Width of the embeddings (a multiple of ``n_heads``).
    max_len : int, default=50
        Latest items of a sequence the model reads.
    n_blocks : int, default=2
        Self-attention blocks.
    n_heads : int, default=1
    dropout : float, default=0.2
    loss : {"softmax", "gbce", "bce"}, default="softmax"
    n_negatives : int or None, default=None
        Negatives per batch for ``"softmax"``, per position for
        ``"gbce"``; None: the whole catalog.
    gbce_t : float, default=0.75
        Calibration of ``"gbce"``.
    time_column : int, str or None, default=2
        Column of ``X`` that orders each user's rows; None for row order.
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
    module_ : SASRecModule
    sequence_indptr_, sequence_items_ : ndarray
        Each user's training items in time order: user ``u``'s are
        ``sequence_items_[sequence_indptr_[u]:sequence_indptr_[u + 1]]``
        (item indices into ``items_``).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import SASRec
    >>> X, _ = make_interactions(100, 50, random_state=0, return_X_y=True)
    >>> model = SASRec(n_factors=16, max_len=10, max_epochs=2, random_state=0)
    >>> model.fit(X).recommend([0], k=3)[0].shape
    (1, 3)

    An anonymous session (an id unknown to the model), in order, without
    refitting:

    >>> model.recommend([-1], k=3, history=[[3, 7, 1]])[0].shape
    (1, 3)
    """

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_blocks": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        max_len=50,
        n_blocks=2,
        n_heads=1,
        dropout=0.2,
        loss="softmax",
        n_negatives=None,
        gbce_t=0.75,
        time_column=2,
        train_windows="last",
        module=SASRecModule,
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
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout

    def _module_params(self):
        return {
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "max_len": self.max_len,
            "n_blocks": self.n_blocks,
            "n_heads": self.n_heads,
            "dropout": self.dropout,
        }
