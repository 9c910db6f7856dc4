"""HSTU: Hierarchical Sequential Transduction Units, trained through skorch."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval

from ..nn import HSTUModule
from ._sequential import SequentialRecommender

__all__ = ["HSTU"]


class HSTU(SequentialRecommender):
    """Hierarchical Sequential Transduction Units (Zhai et al., ICML 2024).

    The sequential encoder of "Actions Speak Louder than Words": each layer
    projects its input once into a gate, values, queries and keys (all
    through SiLU), attends causally with *pointwise* weights
    ``silu(q k^T + b[i - j]) / max_len`` (no softmax, a learned bias per
    distance back in the sequence) and adds the attended values,
    layer-normalised and gated, back to its input. Scores are cosine
    similarities between the final state and the item embeddings divided
    by ``temperature``, as in the authors' sequential-recommendation
    setting. The sequence contract, the losses, sessions, ``partial_fit``
    and ``explain`` are those of :class:`SASRec`; see
    ``docs/sequential.rst``. The authors' relative time bias is left out
    (the modules see the order of the items, not their timestamps).

    Parameters
    ----------
    n_factors : int, default=64
        Width of the embeddings and of every projection (a multiple of
        ``n_heads``).
    max_len : int, default=50
        Latest items of a sequence the model reads.
    n_blocks : int, default=2
        HSTU layers.
    n_heads : int, default=1
    dropout : float, default=0.2
        On the embeddings and on each layer's gated output.
    temperature : float, default=0.05
        Divides the cosine similarities that score the items.
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
    module_ : HSTUModule
    sequence_indptr_, sequence_items_ : ndarray
        Each user's training items in time order (see :class:`SASRec`).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    References
    ----------
    J. Zhai, L. Liao, X. Liu, Y. Wang, R. Li, X. Cao, L. Gao, Z. Gong, F. Gu,
    M. He, Y. Lu and Y. Shi. Actions Speak Louder than Words:
    Trillion-Parameter Sequential Transducers for Generative
    Recommendations. ICML 2024.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import HSTU
    >>> X, _ = make_interactions(100, 50, random_state=0, return_X_y=True)
    >>> model = HSTU(n_factors=16, max_len=10, max_epochs=2, random_state=0)
    >>> model.fit(X).recommend([-1], k=3, history=[[3, 7, 1]])[0].shape
    (1, 3)
    """

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_blocks": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        max_len=50,
        n_blocks=2,
        n_heads=1,
        dropout=0.2,
        temperature=0.05,
        loss="softmax",
        n_negatives=None,
        gbce_t=0.75,
        time_column=2,
        train_windows="last",
        module=HSTUModule,
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
        self.temperature = temperature

    def _module_params(self):
        return {
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "max_len": self.max_len,
            "n_blocks": self.n_blocks,
            "n_heads": self.n_heads,
            "dropout": self.dropout,
            "temperature": self.temperature,
        }
