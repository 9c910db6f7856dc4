"""SASRec: causal self-attention over a user's item sequence."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["PositionalSequenceModule", "SASRecModule", "SequenceModule"]


class SequenceModule(nn.Module):
    """What a sequential model's module provides (SASRec, GRU4Rec, a plugin).

    Sequences are ``(batch, length)`` LongTensors of item indices, left-padded
    with the index ``n_items`` (the padding row of the item embedding), the
    latest item last. ``forward(sequences)`` returns ``(batch, length,
    n_factors)`` hidden states, position ``t`` summarising items ``<= t``;
    the score of item ``i`` after position ``t`` is ``hidden[:, t] @
    item_vectors()[i]``. Splitting ``forward`` into :meth:`embed` and
    :meth:`encode` lets ``explain`` take gradients with respect to the
    input embeddings.
    """

    n_items: int

    def embed(self, sequences: torch.Tensor) -> torch.Tensor:
        """Item embeddings of the sequences, ``(batch, length, n_factors)``."""
        raise NotImplementedError

    def encode(self, embedded: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Hidden states from the embeddings and the padding mask (True = pad)."""
        raise NotImplementedError

    def item_vectors(self) -> torch.Tensor:
        """Output vectors of the ``n_items`` catalog items, ``(n_items, n_factors)``."""
        raise NotImplementedError

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        return self.encode(self.embed(sequences), sequences == self.n_items)


class _LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` with its scale and shift applied as broadcast ops.

    The fused kernel's backward sums the shift's gradient over all rows in
    chunks set by the thread count, so seeded fits would differ with the
    number of threads; the broadcast ops' backward does not.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = F.layer_norm(x, self.normalized_shape, None, None, self.eps)
        return normed * self.weight + self.bias


class _Block(nn.Module):
    """Pre-norm transformer block: causal attention, then a pointwise MLP."""

    def __init__(self, n_factors: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.attention_norm = _LayerNorm(n_factors, eps=1e-8)
        self.qkv = nn.Linear(n_factors, 3 * n_factors)
        self.out = nn.Linear(n_factors, n_factors)
        self.mlp_norm = _LayerNorm(n_factors, eps=1e-8)
        self.mlp = nn.Sequential(
            nn.Linear(n_factors, n_factors),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(n_factors, n_factors),
        )
        self.dropout = nn.Dropout(dropout)
        self.attention_dropout = dropout

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = (
            self.qkv(self.attention_norm(x))
            .view(batch, length, 3, self.n_heads, width // self.n_heads)
            .permute(2, 0, 3, 1, 4)
        )
        attended = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=allowed,
            dropout_p=self.attention_dropout if self.training else 0.0,
        )
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        x = x + self.dropout(self.out(attended))
        return x + self.dropout(self.mlp(self.mlp_norm(x)))


class PositionalSequenceModule(SequenceModule):
    """Item embeddings plus learned positions: the input of attention encoders.

    Item embeddings (scaled by ``sqrt(n_factors)``, the padding row zero)
    plus position embeddings counted from the end of the sequence, so that
    the latest item always has the last position. :meth:`_inputs` gives the
    dropped-out, padding-zeroed input, the mask of real positions and the
    causal mask; a subclass adds its blocks and ``encode``.
    """

    def __init__(self, n_items, n_factors, max_len, n_heads, dropout):
        super().__init__()
        if n_factors % n_heads:
            raise ValueError(
                f"n_factors={n_factors} must be a multiple of n_heads={n_heads}: "
                "each head gets n_factors // n_heads dimensions."
            )
        self.n_items = int(n_items)
        self.max_len = int(max_len)
        self.scale = math.sqrt(n_factors)
        self.item_embedding = nn.Embedding(n_items + 1, n_factors, padding_idx=n_items)
        self.position_embedding = nn.Embedding(max_len, n_factors)
        nn.init.normal_(self.item_embedding.weight, std=n_factors**-0.5)
        nn.init.normal_(self.position_embedding.weight, std=n_factors**-0.5)
        with torch.no_grad():
            self.item_embedding.weight[n_items].zero_()
        self.dropout = nn.Dropout(dropout)

    def embed(self, sequences):
        return self.item_embedding(sequences) * self.scale

    def _inputs(self, embedded, padding):
        """The blocks' input ``x``, ``keep`` (real positions) and the causal mask."""
        length = embedded.shape[1]
        if length > self.max_len:
            raise ValueError(
                f"sequences of length {length} exceed max_len={self.max_len}."
            )
        keep = ~padding[..., None]
        x = self.dropout(embedded + self.position_embedding.weight[-length:]) * keep
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        return x, keep, causal

    def item_vectors(self):
        return self.item_embedding.weight[: self.n_items]


class SASRecModule(PositionalSequenceModule):
    """Self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

    Item embeddings (scaled by ``sqrt(n_factors)``) plus learned position
    embeddings, counted from the end of the sequence so that the latest item
    always has the last position, go through ``n_blocks`` pre-norm blocks of
    causal multi-head self-attention
    (:func:`torch.nn.functional.scaled_dot_product_attention`, which picks
    the memory-efficient kernels on a GPU) and a pointwise MLP. A query
    attends to itself and to the earlier, non-padding positions only; padded
    positions are zeroed after every block, so padding never reaches a real
    position's output. Scores are dot products with the (shared) input item
    embeddings.

    Parameters
    ----------
    n_items : int
        Catalog size; index ``n_items`` is the padding item.
    n_factors : int, default=64
        Width of the embeddings and hidden states (a multiple of ``n_heads``).
    max_len : int, default=50
        Longest sequence (number of position embeddings).
    n_blocks : int, default=2
    n_heads : int, default=1
    dropout : float, default=0.2
        On the embeddings, the attention weights and each block's outputs.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import SASRecModule
    >>> module = SASRecModule(n_items=10, n_factors=8, max_len=4).eval()
    >>> hidden = module(torch.tensor([[10, 10, 3, 4]]))  # two pads, then 3, 4
    >>> hidden.shape, module.item_vectors().shape
    (torch.Size([1, 4, 8]), torch.Size([10, 8]))
    """

    def __init__(
        self, n_items, n_factors=64, max_len=50, n_blocks=2, n_heads=1, dropout=0.2
    ):
        super().__init__(n_items, n_factors, max_len, n_heads, dropout)
        self.blocks = nn.ModuleList(
            _Block(n_factors, n_heads, dropout) for _ in range(n_blocks)
        )
        self.norm = _LayerNorm(n_factors, eps=1e-8)

    def encode(self, embedded, padding):
        x, keep, causal = self._inputs(embedded, padding)
        length = x.shape[1]
        # A query sees earlier real items and itself (a padded query then has
        # one key, not none: no NaN, and its output is zeroed anyway).
        allowed = (causal & ~padding[:, None, :]) | torch.eye(
            length, dtype=torch.bool, device=x.device
        )
        allowed = allowed[:, None]  # one mask for every head
        for block in self.blocks:
            x = block(x, allowed) * keep
        return self.norm(x)
