"""HSTU: gated pointwise attention with relative position biases over a sequence."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ._sasrec import PositionalSequenceModule

__all__ = ["HSTUModule"]


class _TransductionUnit(nn.Module):
    """One HSTU layer: ``x + W_o(dropout(u * norm(A(x) v)))``.

    ``u, v, q, k = silu(norm(x) W)`` from one projection; the attention
    ``A = silu(q k^T + b[i - j]) / max_len`` is pointwise (no softmax: a
    position's weights do not sum to 1, so how much history there is
    reaches the output), causal, with one learned bias per distance
    ``i - j`` back in the sequence. Padding keys get weight 0.
    """

    def __init__(self, n_factors: int, n_heads: int, max_len: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.max_len = max_len
        self.uvqk = nn.Linear(n_factors, 4 * n_factors, bias=False)
        nn.init.normal_(self.uvqk.weight, std=0.02)
        self.position_bias = nn.Parameter(torch.empty(max_len).normal_(std=0.02))
        self.out = nn.Linear(n_factors, n_factors)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, allowed: torch.Tensor, distance: torch.Tensor
    ) -> torch.Tensor:
        """``allowed``: causal mask of real keys; ``distance``: ``i - j`` (>= 0)."""
        batch, length, width = x.shape
        heads = self.n_heads
        u, v, q, k = F.silu(self.uvqk(F.layer_norm(x, (width,), eps=1e-6))).chunk(
            4, dim=-1
        )

        def split(t):  # (batch, heads, length, width // heads)
            return t.reshape(batch, length, heads, width // heads).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        logits = q @ k.transpose(-1, -2) + self.position_bias[distance]
        # Divided by max_len, not by the batch's length: a window's output
        # must not depend on how much padding its batch added.
        weights = F.silu(logits) / self.max_len * allowed
        attended = (weights @ v).transpose(1, 2).reshape(batch, length, width)
        gated = u * F.layer_norm(attended, (width,), eps=1e-6)
        return x + self.out(self.dropout(gated))


class HSTUModule(PositionalSequenceModule):
    """Hierarchical Sequential Transduction Units (Zhai et al., ICML 2024).

    Item embeddings (scaled by ``sqrt(n_factors)``) plus learned position
    embeddings, counted from the end of the sequence, go through
    ``n_blocks`` HSTU layers (:class:`_TransductionUnit`): one projection
    gives a gate ``u``, values ``v``, queries and keys, all through SiLU;
    causal pointwise attention ``silu(q k^T + b[i - j]) / max_len`` with a
    learned relative-position bias replaces the softmax; its output,
    layer-normalised and gated by ``u``, is projected back and added to
    the input. The final states and the item embeddings are L2-normalised
    and their dot product divided by ``temperature`` (the cosine
    similarity of the authors' sequential-recommendation setting). Padding
    keys get zero attention and padded positions are zeroed after every
    layer, so padding never reaches a real position.

    The authors' relative *time* bias (a bucket of the gap between
    timestamps) is left out: the sequence contract hands modules the order
    of the items, not their times.

    Parameters
    ----------
    n_items : int
        Catalog size; index ``n_items`` is the padding item.
    n_factors : int, default=64
        Width of the embeddings and of every projection (a multiple of
        ``n_heads``).
    max_len : int, default=50
        Longest sequence (position embeddings and relative distances).
    n_blocks : int, default=2
    n_heads : int, default=1
    dropout : float, default=0.2
        On the embeddings and on each layer's gated output.
    temperature : float, default=0.05
        Scores are cosine similarities divided by it.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import HSTUModule
    >>> module = HSTUModule(n_items=10, n_factors=8, max_len=4).eval()
    >>> hidden = module(torch.tensor([[10, 10, 3, 4]]))  # two pads, then 3, 4
    >>> hidden.shape, module.item_vectors().shape
    (torch.Size([1, 4, 8]), torch.Size([10, 8]))
    """

    def __init__(
        self,
        n_items,
        n_factors=64,
        max_len=50,
        n_blocks=2,
        n_heads=1,
        dropout=0.2,
        temperature=0.05,
    ):
        super().__init__(n_items, n_factors, max_len, n_heads, dropout)
        self.temperature = float(temperature)
        self.blocks = nn.ModuleList(
            _TransductionUnit(n_factors, n_heads, max_len, dropout)
            for _ in range(n_blocks)
        )

    def encode(self, embedded, padding):
        x, keep, causal = self._inputs(embedded, padding)
        allowed = (causal & ~padding[:, None, :])[:, None].to(x.dtype)
        # How far back each key is from each query, the index of the blocks'
        # relative-position biases (clamped: later keys are masked anyway).
        back = torch.arange(x.shape[1], device=x.device)
        distance = (back[:, None] - back[None, :]).clamp(min=0)
        for block in self.blocks:
            x = block(x, allowed, distance) * keep
        return F.normalize(x, dim=-1) / self.temperature

    def item_vectors(self):
        return F.normalize(super().item_vectors(), dim=-1)
