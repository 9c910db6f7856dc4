"""The biased dot-product model behind matrix factorisation."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MatrixFactorizationModule"]


class MatrixFactorizationModule(nn.Module):
    """``score(u, i) = mu + b_u + b_i + <p_u, q_i>``.

    Parameters
    ----------
    n_users, n_items : int
        Sizes of the embedding tables.
    n_factors : int, default=64
        Dimension of ``p_u`` and ``q_i``.
    global_bias : float, default=0.0
        Initial ``mu`` (the mean rating, for explicit feedback).
    user_bias : bool, default=True
        Learn ``b_u``; a ranking loss cannot, so implicit models drop it.
    init_std : float, default=0.05
        Standard deviation of the normal initialisation of the factors.
    sparse : bool, default=False
        Sparse gradients for the embedding tables (use with
        ``torch.optim.SparseAdam``). ``mu`` is then fixed at ``global_bias``:
        SparseAdam cannot update a dense parameter.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import MatrixFactorizationModule
    >>> module = MatrixFactorizationModule(3, 4, n_factors=2)
    >>> module(torch.tensor([0, 1]), torch.tensor([3, 3])).shape
    torch.Size([2])
    >>> module.score_all(torch.tensor([0, 1, 2])).shape
    torch.Size([3, 4])
    """

    def __init__(
        self,
        n_users,
        n_items,
        n_factors=64,
        *,
        global_bias=0.0,
        user_bias=True,
        init_std=0.05,
        sparse=False,
    ):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, n_factors, sparse=sparse)
        self.item_factors = nn.Embedding(n_items, n_factors, sparse=sparse)
        self.item_bias = nn.Embedding(n_items, 1, sparse=sparse)
        self.user_bias = nn.Embedding(n_users, 1, sparse=sparse) if user_bias else None
        self.global_bias = nn.Parameter(
            torch.tensor(float(global_bias)), requires_grad=not sparse
        )
        nn.init.normal_(self.user_factors.weight, std=init_std)
        nn.init.normal_(self.item_factors.weight, std=init_std)
        nn.init.zeros_(self.item_bias.weight)
        if self.user_bias is not None:
            nn.init.zeros_(self.user_bias.weight)

    def _user_offset(self, users) -> torch.Tensor:
        if self.user_bias is None:
            return self.global_bias
        return self.global_bias + self.user_bias(users).squeeze(-1)

    def forward(self, users, items, negatives=None, norms=False):
        """Scores of (user, item) pairs; ``users`` and ``items`` broadcast.

        With ``negatives`` (shape ``(batch, n_negatives)``), also the scores
        of each user's sampled items, from the same gathered user vectors:
        returns ``(scores, negative_scores)``. With ``norms=True``, the
        squared norms ``|p_u|^2`` of the gathered user vectors and ``|q_i|^2``
        of the item vectors (observed, then sampled, flattened) are appended,
        for an L2 term that shares the rows (and the embedding backward pass)
        of the scores.
        """
        user_rows = self.user_factors(users)
        item_rows = self.item_factors(items)
        offset = self._user_offset(users)
        scores = (user_rows * item_rows).sum(-1) + self.item_bias(items).squeeze(-1)
        out = [scores + offset]
        item_norms = [(item_rows * item_rows).sum(-1).reshape(-1)] if norms else []
        if negatives is not None:
            negative_rows = self.item_factors(negatives)
            negative = (user_rows.unsqueeze(-2) * negative_rows).sum(-1)
            negative = negative + self.item_bias(negatives).squeeze(-1)
            out.append(
                negative + offset.unsqueeze(-1) if offset.dim() else negative + offset
            )
            if norms:
                item_norms.append((negative_rows * negative_rows).sum(-1).reshape(-1))
        if norms:
            out += [(user_rows * user_rows).sum(-1), torch.cat(item_norms)]
        return out[0] if len(out) == 1 else tuple(out)

    def score_all(self, users) -> torch.Tensor:
        """Scores of every item for ``users``: one matrix product."""
        bias = None if self.user_bias is None else self.user_bias(users).squeeze(-1)
        return self.score_vectors(self.user_factors(users), bias)

    def score_vectors(self, factors, bias=None) -> torch.Tensor:
        """Scores of every item for user vectors not in the table (fold-in)."""
        scores = factors @ self.item_factors.weight.T
        scores = scores + self.item_bias.weight.T + self.global_bias
        return scores if bias is None else scores + bias[:, None]
