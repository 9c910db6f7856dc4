"""Neural collaborative filtering: the NeuMF model of He et al. (WWW 2017)."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

__all__ = ["NeuMFModule"]

# Pairs scored at once by score_all, times the widest layer.
_SCORE_CELLS = 1 << 24


def _mlp(widths, dropout) -> nn.Sequential:
    layers = []
    for width_in, width_out in pairwise(widths):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class NeuMFModule(nn.Module):
    """GMF and MLP paths fused into one logit.

    ``GMF = p_u * q_i`` (element-wise), ``MLP = f([p'_u, q'_i])`` through
    ``hidden`` ReLU layers; the logit is a linear map of ``[GMF, MLP]``.

    Parameters
    ----------
    n_users, n_items : int
    n_factors : int, default=32
        Dimension of the GMF embeddings.
    hidden : tuple of int, default=(64, 32, 16)
        Widths of the MLP layers; its embeddings have ``hidden[0] // 2``
        dimensions each.
    dropout : float, default=0.0
        Dropout after each MLP layer.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import NeuMFModule
    >>> module = NeuMFModule(3, 5, n_factors=4, hidden=(8, 4))
    >>> module(torch.tensor([0, 2]), torch.tensor([1, 4])).shape
    torch.Size([2])
    >>> module.score_all(torch.tensor([0, 1])).shape
    torch.Size([2, 5])
    """

    def __init__(
        self, n_users, n_items, n_factors=32, hidden=(64, 32, 16), dropout=0.0
    ):
        super().__init__()
        hidden = tuple(hidden)
        half = max(hidden[0] // 2, 1)
        self.gmf_user = nn.Embedding(n_users, n_factors)
        self.gmf_item = nn.Embedding(n_items, n_factors)
        self.mlp_user = nn.Embedding(n_users, half)
        self.mlp_item = nn.Embedding(n_items, half)
        self.mlp = _mlp((2 * half, *hidden[1:]), dropout)
        self.output = nn.Linear(
            n_factors + (hidden[-1] if len(hidden) > 1 else 2 * half), 1
        )
        for table in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(table.weight, std=0.01)

    def forward(self, users, items) -> torch.Tensor:
        """Logits of (user, item) pairs; ``users`` and ``items`` broadcast."""
        users, items = torch.broadcast_tensors(users, items)
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=-1))
        return self.output(torch.cat([gmf, mlp], dim=-1)).squeeze(-1)

    def score_all(self, users) -> torch.Tensor:
        """Logits of every item for ``users``, a block of users at a time."""
        n_items = self.gmf_item.num_embeddings
        width = max(self.gmf_item.embedding_dim, 2 * self.mlp_item.embedding_dim)
        step = max(1, _SCORE_CELLS // (n_items * width))
        items = torch.arange(n_items, device=users.device)[None, :]
        return torch.cat(
            [self(users[i : i + step, None], items) for i in range(0, len(users), step)]
        )
