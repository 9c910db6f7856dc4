"""LightGCN: embeddings smoothed over the user-item graph (He et al., SIGIR 2020).

Users and items are the nodes of one bipartite graph, an interaction its
edge. Each layer replaces every node's vector by the sum of its neighbours'
vectors weighted by ``1 / sqrt(d_u d_i)``: a product with the symmetric
normalised adjacency ``D^-1/2 A D^-1/2``, held as a sparse CSR tensor. A
node's final vector is the mean of its vectors over the layers, its own
free vector (layer 0) included.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

__all__ = ["LightGCNModule", "normalized_adjacency"]


def normalized_adjacency(indptr, indices, n_items):
    """``D^-1/2 A D^-1/2`` of the bipartite graph of a user-item CSR matrix.

    Nodes ``0 .. n_users - 1`` are the users, ``n_users + i`` item ``i``;
    ``A = [[0, R], [R^T, 0]]`` with ``R`` the binary interaction matrix, and
    ``D`` its degrees. Nodes without an edge have an empty row.

    Parameters
    ----------
    indptr, indices : array-like of int
        The interaction matrix ``(n_users, n_items)`` in CSR form, without
        repeated entries (its values are ignored: every edge weighs 1).
    n_items : int

    Returns
    -------
    crow, col : LongTensor
        The CSR structure of the ``(n_users + n_items)`` square matrix.
    values : FloatTensor
    degrees : FloatTensor of shape (n_users + n_items,)
        The degree of each node.

    Examples
    --------
    >>> from sk_recsys.nn import normalized_adjacency
    >>> crow, col, values, degrees = normalized_adjacency([0, 2, 3], [0, 1, 1], 2)
    >>> crow.tolist(), col.tolist()
    ([0, 2, 3, 4, 6], [2, 3, 3, 0, 0, 1])
    >>> [round(v, 4) for v in values.tolist()]
    [0.7071, 0.5, 0.7071, 0.7071, 0.5, 0.7071]
    """
    indptr = torch.as_tensor(np.asarray(indptr), dtype=torch.long)
    indices = torch.as_tensor(np.asarray(indices), dtype=torch.long)
    n_users = len(indptr) - 1
    user_degree = indptr[1:] - indptr[:-1]
    item_degree = torch.bincount(indices, minlength=n_items)
    users = torch.repeat_interleave(torch.arange(n_users), user_degree)
    weights = (user_degree[users] * item_degree[indices]).double().rsqrt().float()
    # The item rows list their users in increasing order: a stable sort by
    # item of the user-major entries.
    order = torch.sort(indices, stable=True).indices
    item_ptr = torch.zeros(n_items + 1, dtype=torch.long)
    item_ptr[1:] = torch.cumsum(item_degree, 0)
    crow = torch.cat([indptr, len(indices) + item_ptr[1:]])
    col = torch.cat([n_users + indices, users[order]])
    values = torch.cat([weights, weights[order]])
    degrees = torch.cat([user_degree, item_degree]).float()
    return crow, col, values, degrees


class _SymmetricProduct(torch.autograd.Function):
    """``A @ x`` for a symmetric sparse ``A``, whose gradient is ``A @ grad``.

    The backward pass multiplies by ``A`` itself rather than by a transposed
    sparse matrix, which keeps it the same (deterministic) kernel.
    """

    @staticmethod
    def forward(ctx, matrix, x):
        ctx.matrix = matrix
        return matrix @ x

    @staticmethod
    def backward(ctx, grad):
        return None, ctx.matrix @ grad


class LightGCNModule(nn.Module):
    """User and item vectors propagated over the normalised interaction graph.

    One embedding table holds the free (layer-0) vectors of the users, then
    the items. :meth:`propagate` multiplies them ``n_layers`` times by
    ``D^-1/2 A D^-1/2`` (see :func:`normalized_adjacency`) and averages the
    ``n_layers + 1`` results; a score is the dot product of the final
    vectors. Outside training the final vectors are computed once and kept
    until the table or the graph changes (an optimizer step, a loaded
    state), so scoring does not propagate again.

    Parameters
    ----------
    indptr, indices : array-like of int
        The training matrix ``(n_users, n_items)`` in CSR form.
    n_items : int
    n_factors : int, default=64
    n_layers : int, default=3
        Propagation steps (0: plain matrix factorisation).
    init_std : float, default=0.1
        Standard deviation of the normal initialisation (the authors').

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import LightGCNModule
    >>> module = LightGCNModule([0, 2, 3], [0, 1, 1], n_items=2, n_factors=4)
    >>> module(torch.tensor([0, 1]), torch.tensor([1, 0])).shape
    torch.Size([2])
    >>> module.score_all(torch.tensor([0, 1])).shape
    torch.Size([2, 2])
    """

    def __init__(
        self, indptr, indices, n_items, n_factors=64, n_layers=3, init_std=0.1
    ):
        super().__init__()
        self.n_users = len(indptr) - 1
        self.n_items = n_items
        self.n_layers = n_layers
        self.embedding = nn.Embedding(self.n_users + n_items, n_factors)
        nn.init.normal_(self.embedding.weight, std=init_std)
        # Derived from the data, rebuilt with the module: not in state_dict.
        for name in ("graph_crow", "graph_col", "graph_values", "degrees"):
            self.register_buffer(name, torch.zeros(0), persistent=False)
        self._cache = None
        self.set_graph(indptr, indices)

    def set_graph(self, indptr, indices) -> None:
        """Replace the interaction graph (same users and items)."""
        device = self.embedding.weight.device
        parts = normalized_adjacency(indptr, indices, self.n_items)
        self.graph_crow, self.graph_col, self.graph_values, self.degrees = (
            part.to(device) for part in parts
        )
        self._cache = None

    def graph(self) -> torch.Tensor:
        """``D^-1/2 A D^-1/2`` as a sparse CSR tensor."""
        n = self.n_users + self.n_items
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(
                self.graph_crow,
                self.graph_col,
                self.graph_values,
                (n, n),
                check_invariants=False,
            )

    def _layers(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The sum of the layers ``0 .. n_layers`` and their last one."""
        layer = self.embedding.weight
        total = layer
        if self.n_layers:
            graph = self.graph()
            for _ in range(self.n_layers):
                layer = _SymmetricProduct.apply(graph, layer)
                total = total + layer
        return total, layer

    def propagate(self) -> torch.Tensor:
        """Final vectors of every node: the mean of layers ``0 .. n_layers``."""
        total, _ = self._layers()
        return total / (self.n_layers + 1)

    def _scoring_vectors(self):
        """``(users, items, fold_items)``, computed once per state of the table.

        ``fold_items`` is the sum of the item layers ``0 .. n_layers - 1``
        divided by ``n_layers + 1``: what the items pass to a new user node
        (see :meth:`users_from_rows`). Outside autograd (scoring) the
        vectors are reused until an in-place update of the table (its
        version counter: an optimizer step, a loaded state) or a new graph.
        """
        weight = self.embedding.weight
        key = (weight._version, weight.data_ptr(), self.graph_values.data_ptr())
        if self._cache is None or self._cache[0] != key:
            total, last = self._layers()
            scale = self.n_layers + 1
            final, fold = total / scale, (total - last) / scale
            n = self.n_users
            self._cache = (key, (final[:n], final[n:], fold[n:]))
        return self._cache[1]

    def final_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(users, items)``: the final vectors (kept while scoring)."""
        if torch.is_grad_enabled():
            final = self.propagate()
            return final[: self.n_users], final[self.n_users :]
        users, items, _ = self._scoring_vectors()
        return users, items

    def forward(self, users, items, negatives=None, norms=False):
        """Scores of (user, item) pairs from one propagation.

        With ``negatives`` (shape ``(batch, n_negatives)``), also the scores
        of each user's sampled items: returns ``(scores, negative_scores)``.
        With ``norms=True``, the squared norms of the layer-0 vectors of the
        users and of the items (observed, then sampled, flattened) are
        appended, for the L2 penalty of the batch.
        """
        user_final, item_final = self.final_embeddings()
        user_rows = user_final[users]
        out = [(user_rows * item_final[items]).sum(-1)]
        if negatives is not None:
            out.append((user_rows.unsqueeze(-2) * item_final[negatives]).sum(-1))
        if norms:
            weight = self.embedding.weight
            item_ids = [items.reshape(-1)]
            if negatives is not None:
                item_ids.append(negatives.reshape(-1))
            user_free = weight[users]
            item_free = weight[self.n_users + torch.cat(item_ids)]
            out += [(user_free * user_free).sum(-1), (item_free * item_free).sum(-1)]
        return out[0] if len(out) == 1 else tuple(out)

    def score_all(self, users) -> torch.Tensor:
        """Scores of every item for ``users``: one matrix product."""
        user_final, item_final = self.final_embeddings()
        return user_final[users] @ item_final.T

    def users_from_rows(self, rows) -> torch.Tensor:
        """Final vectors of new users given by binary item rows (n, n_items).

        The vector the model computes for a new user node linked to the
        row's items, with its free (layer-0) vector at 0: layer ``k`` of the
        user is ``sum_i e_i^(k-1) / sqrt(d_u d_i)`` over its items ``i``
        (``d_u`` the row's item count, ``d_i`` the item's training degree),
        and its final vector the mean of layers ``0 .. n_layers``. The new
        node's own effect on the item vectors and degrees is left out. With
        ``n_layers=0`` it is 0.
        """
        with torch.no_grad():
            _, _, fold_items = self._scoring_vectors()
            item_degree = self.degrees[self.n_users :].clamp(min=1.0)
            user_degree = rows.sum(dim=1, keepdim=True).clamp(min=1.0)
            return (rows / item_degree.sqrt()) @ fold_items / user_degree.sqrt()

    def score_vectors(self, vectors) -> torch.Tensor:
        """Scores of every item for user vectors not in the table (fold-in)."""
        _, item_final = self.final_embeddings()
        return vectors @ item_final.T

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = None
        return state
