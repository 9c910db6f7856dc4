"""Solve for the vectors of new users given fixed item vectors (fold-in)."""

from __future__ import annotations

import torch

__all__ = ["fold_in", "history_contributions"]

# History entries whose outer products are summed at once.
_ENTRIES = 4096


def fold_in(item_vectors, owner, columns, targets, n_rows, *, l2, implicit, prior=None):
    """Ridge regression of each user's targets on the vectors of their items.

    For user ``u`` with history items ``H`` and targets ``t`` (ratings minus
    biases, or 1 for implicit feedback), solves
    ``min_p sum_{j in H} (t_j - p . q_j)^2 + l2 |H| |p|^2`` (the per-rating
    penalty of the training objective). With ``implicit``, every other item
    pulls towards 0 with a total weight of ``|H|`` (implicit ALS's fold-in),
    which keeps a user of few items from scoring everything high. With a
    Gaussian ``prior`` the penalty is ``(p - m)^T W (p - m)`` instead: the
    posterior mean of ``p`` under the prior ``N(m, noise * W^-1)``.

    Parameters
    ----------
    item_vectors : Tensor of shape (n_items, d)
    owner, columns : LongTensor of shape (n_entries,)
        Row (user) and item of each history entry.
    targets : Tensor of shape (n_entries,)
    n_rows : int
    l2 : float
    implicit : bool
    prior : tuple of Tensor (W of shape (d, d), m of shape (d,)), default=None
        Replaces the ``l2`` penalty (see above).

    Returns
    -------
    vectors : Tensor of shape (n_rows, d)
    gram : Tensor of shape (n_rows, d, d)
        The regularised normal matrices (their inverse explains the scores).

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import fold_in
    >>> items = torch.eye(2)
    >>> p, _ = fold_in(items, torch.tensor([0]), torch.tensor([1]),
    ...                torch.tensor([2.0]), 1, l2=0.0, implicit=False)
    >>> p.round(decimals=3).tolist()
    [[0.0, 2.0]]
    """
    device, dim = item_vectors.device, item_vectors.shape[1]
    gram = torch.zeros(n_rows, dim, dim, device=device)
    target = torch.zeros(n_rows, dim, device=device)
    for start in range(0, len(owner), _ENTRIES):
        part = slice(start, start + _ENTRIES)
        vectors = item_vectors[columns[part]]
        gram.index_add_(0, owner[part], vectors[:, :, None] * vectors[:, None, :])
        target.index_add_(0, owner[part], vectors * targets[part, None])
    counts = torch.bincount(owner, minlength=n_rows).to(item_vectors.dtype)
    if prior is not None:
        weight, mean = prior
        gram = gram + weight
        target = target + weight @ mean
    else:
        ridge = max(l2, 1e-4) * counts.clamp(min=1.0)
        gram = gram + ridge[:, None, None] * torch.eye(dim, device=device)
    if implicit:
        everything = item_vectors.T @ item_vectors / len(item_vectors)
        gram = gram + counts[:, None, None] * everything
    return torch.linalg.solve(gram, target), gram


def history_contributions(item_vectors, columns, targets, gram, item):
    """How much each history entry adds to a folded-in user's score of ``item``.

    With ``p = A^-1 sum_j q_j t_j`` (see :func:`fold_in`), the score
    ``q_i . p`` splits exactly into ``sum_j (q_i^T A^-1 q_j) t_j``: the
    explanation of implicit ALS (Hu, Koren and Volinsky, ICDM 2008).

    Parameters
    ----------
    item_vectors : Tensor of shape (n_items, d)
    columns : LongTensor of shape (n_history,)
        The user's history items.
    targets : Tensor of shape (n_history,)
    gram : Tensor of shape (d, d)
        The user's normal matrix from :func:`fold_in`.
    item : int
        The explained item.

    Returns
    -------
    contributions : Tensor of shape (n_history,)

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import fold_in, history_contributions
    >>> items = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> owner, columns = torch.tensor([0, 0]), torch.tensor([0, 1])
    >>> targets = torch.tensor([1.0, 1.0])
    >>> p, gram = fold_in(items, owner, columns, targets, 1, l2=0.0, implicit=False)
    >>> parts = history_contributions(items, columns, targets, gram[0], 2)
    >>> bool(torch.isclose(parts.sum(), p[0] @ items[2], atol=1e-3))
    True
    """
    weights = torch.linalg.solve(gram, item_vectors[item])
    return (item_vectors[columns] @ weights) * targets
