"""Deep matrix factorisation (Xue et al., IJCAI 2017).

A user is the row of the interaction matrix, an item its column; two MLP
towers map them to vectors whose cosine is the predicted preference.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["DeepMFModule", "gather_rows"]

_SCORE_ROWS = 4096


def gather_rows(indptr, indices, values, rows):
    """Entries of CSR rows ``rows``, vectorised.

    Parameters
    ----------
    indptr, indices, values : Tensor
        A CSR matrix.
    rows : LongTensor of shape (n,)

    Returns
    -------
    owner : LongTensor
        Position in ``rows`` of each gathered entry.
    columns, data : Tensor
        Column and value of each entry.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import gather_rows
    >>> owner, cols, vals = gather_rows(
    ...     torch.tensor([0, 2, 3]), torch.tensor([1, 4, 0]),
    ...     torch.tensor([1., 2., 3.]), torch.tensor([1, 0]))
    >>> owner.tolist(), cols.tolist(), vals.tolist()
    ([0, 1, 1], [0, 1, 4], [3.0, 1.0, 2.0])
    """
    starts, ends = indptr[rows], indptr[rows + 1]
    lengths = ends - starts
    owner = torch.repeat_interleave(
        torch.arange(len(rows), device=rows.device), lengths
    )
    first = torch.cumsum(lengths, 0) - lengths
    positions = (
        starts[owner] + torch.arange(len(owner), device=rows.device) - first[owner]
    )
    return owner, indices[positions], values[positions]


class _Tower(nn.Module):
    """Sparse input row -> hidden layers -> vector; the first layer is a bag."""

    def __init__(self, n_inputs, widths):
        super().__init__()
        self.bag = nn.EmbeddingBag(n_inputs, widths[0], mode="sum")
        self.bias = nn.Parameter(torch.zeros(widths[0]))
        layers = []
        for width_in, width_out in pairwise(widths):
            layers += [nn.ReLU(), nn.Linear(width_in, width_out)]
        self.layers = nn.Sequential(*layers)
        nn.init.normal_(self.bag.weight, std=0.01)

    def first(self, owner, columns, data, n_rows) -> torch.Tensor:
        """The first layer's pre-activation: a weighted bag of the row."""
        offsets = torch.searchsorted(owner, torch.arange(n_rows, device=owner.device))
        return self.bag(columns, offsets, per_sample_weights=data) + self.bias

    def forward(self, owner, columns, data, n_rows) -> torch.Tensor:
        return self.layers(self.first(owner, columns, data, n_rows))


class DeepMFModule(nn.Module):
    """Two towers over the rows and columns of the interaction matrix.

    The matrix is stored in the module (as CSR and CSC buffers) because it is
    the input of both towers.

    Parameters
    ----------
    indptr, indices, values : array-like
        The training matrix ``(n_users, n_items)`` in CSR form, values
        normalised to ``[0, 1]``.
    n_items : int
    n_factors : int, default=64
        Dimension of the final user and item vectors.
    hidden : tuple of int, default=(256,)
        Widths of the hidden layers before the final one.
    min_similarity : float, default=1e-6
        Floor ``mu`` of the predicted probability ``max(mu, cos)``.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import DeepMFModule
    >>> module = DeepMFModule([0, 1, 3], [0, 0, 2], [1.0, 0.5, 1.0], n_items=3,
    ...                       n_factors=4, hidden=(8,))
    >>> module(torch.tensor([0, 1]), torch.tensor([2, 0])).shape
    torch.Size([2])
    >>> module.score_all(torch.tensor([0, 1])).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        indptr,
        indices,
        values,
        n_items,
        n_factors=64,
        hidden=(256,),
        min_similarity=1e-6,
    ):
        super().__init__()
        n_users = len(indptr) - 1
        for name in ("row_ptr", "row_idx", "row_val", "col_ptr", "col_idx", "col_val"):
            self.register_buffer(name, torch.zeros(0))
        self.set_matrix(indptr, indices, values, n_items=n_items)
        widths = (*tuple(hidden), n_factors)
        self.user_tower = _Tower(n_items, widths)
        self.item_tower = _Tower(n_users, widths)
        self.min_similarity = min_similarity

    def set_matrix(self, indptr, indices, values, n_items=None) -> None:
        """Replace the interaction matrix the towers read (same shape)."""
        device = self.row_ptr.device
        n_items = len(self.col_ptr) - 1 if n_items is None else n_items
        indptr = torch.as_tensor(indptr, dtype=torch.long, device=device)
        indices = torch.as_tensor(indices, dtype=torch.long, device=device)
        values = torch.as_tensor(values, dtype=torch.float32, device=device)
        n_users = len(indptr) - 1
        rows = torch.repeat_interleave(
            torch.arange(n_users, device=device), indptr[1:] - indptr[:-1]
        )
        order = torch.argsort(indices * n_users + rows)
        col_ptr = torch.zeros(n_items + 1, dtype=torch.long, device=device)
        col_ptr[1:] = torch.cumsum(torch.bincount(indices, minlength=n_items), 0)
        self.row_ptr, self.row_idx, self.row_val = indptr, indices, values
        self.col_ptr, self.col_idx, self.col_val = col_ptr, rows[order], values[order]

    def users_from_rows(self, owner, columns, data, n_rows) -> torch.Tensor:
        """Unit user vectors from interaction rows (fold-in)."""
        return F.normalize(self.user_tower(owner, columns, data, n_rows), dim=-1)

    def user_vectors(self, users) -> torch.Tensor:
        # A batch repeats users and items: run each tower once per distinct id.
        distinct, inverse = torch.unique(users, return_inverse=True)
        owner, cols, vals = gather_rows(
            self.row_ptr, self.row_idx, self.row_val, distinct
        )
        return self.users_from_rows(owner, cols, vals, len(distinct))[inverse]

    def item_vectors(self, items) -> torch.Tensor:
        distinct, inverse = torch.unique(items, return_inverse=True)
        owner, rows, vals = gather_rows(
            self.col_ptr, self.col_idx, self.col_val, distinct
        )
        vectors = self.item_tower(owner, rows, vals, len(distinct))
        return F.normalize(vectors, dim=-1)[inverse]

    def forward(self, users, items, leave_out=None) -> torch.Tensor:
        """Predicted probabilities ``max(mu, cos)`` of (user, item) pairs.

        ``leave_out`` (training positives): the pair's own value in the
        matrix, removed from both towers' inputs so that a tower cannot score
        a pair by spotting it in its input row.
        """
        if leave_out is None:
            cosine = (self.user_vectors(users) * self.item_vectors(items)).sum(-1)
            return cosine.clamp(min=self.min_similarity)
        user_hidden = self._first(
            self.user_tower, self.row_ptr, self.row_idx, self.row_val, users
        )
        item_hidden = self._first(
            self.item_tower, self.col_ptr, self.col_idx, self.col_val, items
        )
        weight = leave_out[:, None]
        user_hidden = user_hidden - weight * self.user_tower.bag.weight[items]
        item_hidden = item_hidden - weight * self.item_tower.bag.weight[users]
        user = F.normalize(self.user_tower.layers(user_hidden), dim=-1)
        item = F.normalize(self.item_tower.layers(item_hidden), dim=-1)
        return (user * item).sum(-1).clamp(min=self.min_similarity)

    @staticmethod
    def _first(tower, indptr, indices, values, rows) -> torch.Tensor:
        distinct, inverse = torch.unique(rows, return_inverse=True)
        owner, cols, vals = gather_rows(indptr, indices, values, distinct)
        return tower.first(owner, cols, vals, len(distinct))[inverse]

    def all_item_vectors(self) -> torch.Tensor:
        n_items = len(self.col_ptr) - 1
        device = self.col_ptr.device
        return torch.cat(
            [
                self.item_vectors(
                    torch.arange(i, min(i + _SCORE_ROWS, n_items), device=device)
                )
                for i in range(0, n_items, _SCORE_ROWS)
            ]
        )

    def score_vectors(self, user_vectors) -> torch.Tensor:
        """Scores of every item for unit user vectors."""
        return (user_vectors @ self.all_item_vectors().T).clamp(min=self.min_similarity)

    def score_all(self, users) -> torch.Tensor:
        return self.score_vectors(self.user_vectors(users))
