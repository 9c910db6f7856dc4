"""Losses for recommendation, as torch modules taking ``(y_pred, y_true)``.

Sampled losses receive ``y_pred`` as a :class:`ScoredBatch`: the scores of
the observed (user, item) pairs and of negatives sampled for each.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "BPRLoss",
    "CatalogScores",
    "FullSoftmaxLoss",
    "GeneralizedBCELoss",
    "MultiTaskLoss",
    "NormalizedCrossEntropyLoss",
    "RatingMSELoss",
    "SampledBCELoss",
    "SampledSoftmaxLoss",
    "ScoredBatch",
    "linear_cross_entropy",
]

# linear_cross_entropy scores this many (row, item) cells at a time: on the
# CPU a block that stays in the cache (2 MiB of float32), on an accelerator
# one large enough that the loop adds few kernel launches (256 MiB).
_CHUNK_CELLS = {"cpu": 1 << 19, "accelerator": 1 << 26}


class ScoredBatch(NamedTuple):
    """Scores of one training batch.

    Attributes
    ----------
    positive : Tensor of shape (batch,)
        Scores of the observed pairs.
    negative : Tensor of shape (batch, n_negatives), CatalogScores or None
        Scores of the sampled negatives (of every catalog item, as
        :class:`CatalogScores`, for :class:`FullSoftmaxLoss`).
    users, items : LongTensor of shape (batch,)
        The batch's pairs.
    negatives : LongTensor of shape (batch, n_negatives) or None
        The sampled negative items.
    rating : Tensor of shape (batch,) or None
        Rating predictions of the observed pairs (multi-task models).
    penalty : Tensor (scalar) or None
        A regularisation term computed from the rows the forward pass
        gathered (:class:`~sk_recsys.models.MatrixFactorization`'s L2), for
        the model's ``get_loss`` to add.
    """

    positive: torch.Tensor
    negative: torch.Tensor | None
    users: torch.Tensor
    items: torch.Tensor
    negatives: torch.Tensor | None
    rating: torch.Tensor | None = None
    penalty: torch.Tensor | None = None


class RatingMSELoss(nn.Module):
    """Mean squared error between the scores of observed pairs and ``y``.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import RatingMSELoss, ScoredBatch
    >>> batch = ScoredBatch(torch.tensor([3.0, 4.0]), None, None, None, None)
    >>> RatingMSELoss()(batch, torch.tensor([4.0, 4.0])).item()
    0.5
    """

    def forward(self, y_pred: ScoredBatch, y_true) -> torch.Tensor:
        return F.mse_loss(y_pred.positive, y_true)


class BPRLoss(nn.Module):
    """Bayesian personalised ranking: ``-log sigmoid(s_pos - s_neg)``, averaged.

    Rendle et al., UAI 2009; with several negatives per positive every pair
    counts once.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import BPRLoss, ScoredBatch
    >>> scores = torch.tensor([2.0]), torch.tensor([[2.0]])
    >>> batch = ScoredBatch(*scores, None, None, None)
    >>> round(BPRLoss()(batch, None).item(), 4)  # -log(1/2)
    0.6931
    """

    def forward(self, y_pred: ScoredBatch, y_true=None) -> torch.Tensor:
        return -F.logsigmoid(y_pred.positive[:, None] - y_pred.negative).mean()


class SampledBCELoss(nn.Module):
    """Pointwise log loss: observed pairs are 1, sampled negatives 0.

    The loss of NeuMF (He et al., WWW 2017), on logits, averaged over the
    ``batch * (1 + n_negatives)`` terms.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import SampledBCELoss, ScoredBatch
    >>> scores = torch.tensor([0.0]), torch.tensor([[0.0]])
    >>> batch = ScoredBatch(*scores, None, None, None)
    >>> round(SampledBCELoss()(batch, None).item(), 4)
    0.6931
    """

    #: Weight of the positives' terms (:class:`GeneralizedBCELoss` sets it).
    beta = 1.0

    def forward(self, y_pred: ScoredBatch, y_true=None) -> torch.Tensor:
        positive = F.binary_cross_entropy_with_logits(
            y_pred.positive, torch.ones_like(y_pred.positive), reduction="sum"
        )
        negative = F.binary_cross_entropy_with_logits(
            y_pred.negative, torch.zeros_like(y_pred.negative), reduction="sum"
        )
        return (self.beta * positive + negative) / (
            y_pred.positive.numel() + y_pred.negative.numel()
        )


class SampledSoftmaxLoss(nn.Module):
    """Cross-entropy of the observed item against its sampled negatives.

    ``-log softmax([s_pos, s_neg_1, ..., s_neg_n])[0]``: with enough
    negatives it approaches the full softmax over the catalog, a strong
    ranking objective for dot-product models.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import SampledSoftmaxLoss, ScoredBatch
    >>> scores = torch.tensor([0.0]), torch.tensor([[0.0, 0.0, 0.0]])
    >>> batch = ScoredBatch(*scores, None, None, None)
    >>> round(SampledSoftmaxLoss()(batch, None).item(), 4)  # log 4
    1.3863
    """

    def forward(self, y_pred: ScoredBatch, y_true=None) -> torch.Tensor:
        logits = torch.cat([y_pred.positive[:, None], y_pred.negative], dim=1)
        return -F.log_softmax(logits, dim=1)[:, 0].mean()


class CatalogScores(NamedTuple):
    """Every catalog item's score after each row, kept as its two factors.

    The scores are ``hidden @ vectors.T``; :class:`FullSoftmaxLoss` reads
    them from the factors a block of rows at a time
    (:func:`linear_cross_entropy`), so the ``(rows, n_items)`` matrix is
    never held whole.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import CatalogScores
    >>> CatalogScores(torch.ones(2, 3), torch.ones(4, 3)).dense().shape
    torch.Size([2, 4])
    """

    hidden: torch.Tensor
    vectors: torch.Tensor

    def dense(self) -> torch.Tensor:
        """The ``(rows, n_items)`` score matrix."""
        return self.hidden @ self.vectors.T


def _cross_entropy_blocks(hidden, vectors, targets, rows, gradients):
    """Summed cross-entropy of ``hidden @ vectors.T`` by blocks of ``rows``.

    Each block's scores give their log-sum-exp and, with ``gradients``, the
    block's softmax minus the one-hot target, hence the block's gradients
    at once: ``(total, grad_hidden, grad_vectors)`` (None without).
    """
    grad_hidden = torch.empty_like(hidden) if gradients else None
    grad_vectors = torch.zeros_like(vectors) if gradients else None
    total = hidden.new_zeros(())
    for start in range(0, len(hidden), rows):
        block = hidden[start : start + rows]
        target = targets[start : start + rows, None]
        scores = block @ vectors.T
        normaliser = torch.logsumexp(scores, dim=1, keepdim=True)
        total += normaliser.sum() - scores.gather(1, target).sum()
        if gradients:
            gradient = scores.sub_(normaliser).exp_()  # the softmax
            gradient.scatter_add_(1, target, gradient.new_full(target.shape, -1.0))
            grad_hidden[start : start + rows] = gradient @ vectors
            grad_vectors.addmm_(gradient.T, block)
    return total, grad_hidden, grad_vectors


class _LinearCrossEntropy(torch.autograd.Function):
    """:func:`_cross_entropy_blocks` whose backward scales the gradients."""

    @staticmethod
    def forward(ctx, hidden, vectors, targets, rows):
        total, grad_hidden, grad_vectors = _cross_entropy_blocks(
            hidden, vectors, targets, rows, gradients=True
        )
        ctx.save_for_backward(grad_hidden, grad_vectors)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        grad_hidden, grad_vectors = ctx.saved_tensors
        return grad_hidden * grad_total, grad_vectors * grad_total, None, None


def linear_cross_entropy(
    hidden: torch.Tensor, vectors: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Mean cross-entropy of the targets under ``softmax(hidden @ vectors.T)``.

    :func:`torch.nn.functional.cross_entropy` of the full score matrix, in
    value and gradients (up to float rounding), computed a block of rows at
    a time so that the ``(rows, n_items)`` scores, their softmax and its
    gradient are never held whole. On the CPU a block stays in the cache:
    for SASRec's batches on the ML-1M subset (20,480 positions, 3,613 items,
    64 factors) the loss and its backward take 0.52 s instead of 1.14 s on
    one thread, and a few MiB instead of three 290 MB matrices.

    Parameters
    ----------
    hidden : Tensor of shape (rows, n_factors)
    vectors : Tensor of shape (n_items, n_factors)
    targets : LongTensor of shape (rows,)

    Returns
    -------
    loss : Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> from torch.nn import functional as F
    >>> from sk_recsys.nn import linear_cross_entropy
    >>> hidden, vectors = torch.randn(5, 3), torch.randn(7, 3)
    >>> targets = torch.tensor([0, 6, 2, 2, 1])
    >>> dense = F.cross_entropy(hidden @ vectors.T, targets)
    >>> torch.allclose(linear_cross_entropy(hidden, vectors, targets), dense)
    True
    """
    device = "cpu" if hidden.device.type == "cpu" else "accelerator"
    rows = max(1, _CHUNK_CELLS[device] // max(1, vectors.shape[0]))
    if torch.is_grad_enabled() and (hidden.requires_grad or vectors.requires_grad):
        total = _LinearCrossEntropy.apply(hidden, vectors, targets, rows)
    else:
        total = _cross_entropy_blocks(hidden, vectors, targets, rows, False)[0]
    return total / max(1, len(hidden))


class FullSoftmaxLoss(nn.Module):
    """Cross-entropy of the observed item over the whole catalog.

    ``y_pred.negative`` holds the scores of *every* catalog item (the
    observed one included) and ``y_pred.items`` the observed items:
    :func:`torch.nn.functional.cross_entropy` of the two, one fused
    log-softmax. The same value as :class:`SampledSoftmaxLoss` with every
    other item as a negative, without building the masked
    ``[positive, negatives]`` matrix (a third less time on the CPU for a
    3,613-item catalog). Given the scores as :class:`CatalogScores`, as the
    sequential models pass them, it computes the same loss by blocks of
    rows (:func:`linear_cross_entropy`), without the full score matrix.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import FullSoftmaxLoss, ScoredBatch
    >>> batch = ScoredBatch(None, torch.zeros(1, 4), None, torch.tensor([2]), None)
    >>> round(FullSoftmaxLoss()(batch).item(), 4)  # log 4
    1.3863
    """

    def forward(self, y_pred: ScoredBatch, y_true=None) -> torch.Tensor:
        scores = y_pred.negative
        if isinstance(scores, CatalogScores):
            return linear_cross_entropy(scores.hidden, scores.vectors, y_pred.items)
        return F.cross_entropy(scores, y_pred.items)


class GeneralizedBCELoss(SampledBCELoss):
    """Generalised binary cross-entropy, gBCE (Petrov & Macdonald, RecSys 2023).

    :class:`SampledBCELoss` with the positive's probability raised to
    ``beta``: ``-beta * log sigmoid(s_pos) - sum log(1 - sigmoid(s_neg))``,
    averaged over the ``batch * (1 + n_negatives)`` terms. Sampling negatives makes
    a model trained with plain BCE overconfident; ``beta`` undoes it:
    ``beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)`` with ``alpha`` the
    share of the catalog sampled (``n_negatives / (n_items - 1)``) and the
    calibration ``t`` in [0, 1] (``t = 0`` is BCE, ``t = 1`` fully
    calibrated; the paper uses 0.75). Use :meth:`from_sampling` to get
    ``beta`` from those.

    Parameters
    ----------
    beta : float, default=1.0

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import GeneralizedBCELoss, ScoredBatch
    >>> loss = GeneralizedBCELoss.from_sampling(n_negatives=250, n_items=1001, t=0.75)
    >>> round(loss.beta, 4)
    0.4375
    >>> scores = torch.tensor([0.0]), torch.tensor([[0.0]])
    >>> batch = ScoredBatch(*scores, None, None, None)
    >>> round(GeneralizedBCELoss(beta=1.0)(batch).item(), 4)  # BCE
    0.6931
    """

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = float(beta)

    @classmethod
    def from_sampling(cls, n_negatives: int, n_items: int, t: float):
        """The loss calibrated for ``n_negatives`` of ``n_items`` sampled."""
        alpha = min(1.0, n_negatives / max(n_items - 1, 1))
        return cls(beta=alpha * (t * (1 - 1 / alpha) + 1 / alpha))


class MultiTaskLoss(nn.Module):
    """``task_weight * MSE(rating) + (1 - task_weight) * sampled log loss``.

    The rating term needs ``y``; without it only the interaction term is
    trained.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import MultiTaskLoss, ScoredBatch
    >>> batch = ScoredBatch(torch.tensor([0.0]), torch.tensor([[0.0]]), None, None,
    ...                     None, rating=torch.tensor([4.0]))
    >>> loss = MultiTaskLoss(0.5)(batch, torch.tensor([3.0]))
    >>> round(loss.item(), 4)  # (1 + log 2) / 2
    0.8466
    """

    def __init__(self, task_weight=0.5):
        super().__init__()
        self.task_weight = task_weight
        self.interaction = SampledBCELoss()

    def forward(self, y_pred: ScoredBatch, y_true=None) -> torch.Tensor:
        interaction = self.interaction(y_pred, None)
        if y_true is None or y_pred.rating is None:
            return interaction
        rating = F.mse_loss(y_pred.rating, y_true)
        return self.task_weight * rating + (1 - self.task_weight) * interaction


class NormalizedCrossEntropyLoss(nn.Module):
    """Deep matrix factorisation's loss on probabilities (Xue et al., IJCAI 2017).

    ``-(r / max_r) log p - (1 - r / max_r) log (1 - p)`` with ``r`` the rating
    of an observed pair (1 without ratings) and 0 for a sampled negative;
    probabilities are clipped to ``[eps, 1 - eps]``.

    Parameters
    ----------
    max_rating : float, default=1.0
        The largest rating, which normalises ``r`` to ``[0, 1]``.
    eps : float, default=1e-6

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import NormalizedCrossEntropyLoss, ScoredBatch
    >>> loss = NormalizedCrossEntropyLoss(max_rating=5.0)
    >>> scores = torch.tensor([0.5]), torch.tensor([[0.5]])
    >>> batch = ScoredBatch(*scores, None, None, None)
    >>> round(loss(batch, torch.tensor([5.0])).item(), 4)  # both terms log 2
    0.6931
    """

    def __init__(self, max_rating=1.0, eps=1e-6):
        super().__init__()
        self.max_rating = max_rating
        self.eps = eps

    def forward(self, y_pred: ScoredBatch, y_true=None) -> torch.Tensor:
        positive = y_pred.positive.clamp(self.eps, 1 - self.eps)
        negative = y_pred.negative.clamp(self.eps, 1 - self.eps)
        target = (
            torch.ones_like(positive)
            if y_true is None
            else (y_true / self.max_rating).clamp(0.0, 1.0)
        )
        total = -(target * positive.log() + (1 - target) * (1 - positive).log()).sum()
        total = total - (1 - negative).log().sum()
        return total / (positive.numel() + negative.numel())
