"""Modules that learn from what items are: content, hybrid and multi-task."""

from __future__ import annotations

import torch
from torch import nn

from ._content import ContentEncoder
from ._dmf import gather_rows

__all__ = ["ContentModule", "HybridModule", "MultiTaskModule", "attribute_features"]

# (user, item) pairs pushed through an MLP at once by score_all, times width.
_SCORE_CELLS = 1 << 24


def _encoder(features, out_dim, options):
    if not features:
        return None
    return ContentEncoder(**features, out_dim=out_dim, **(options or {}))


def _mlp(widths, out=1) -> nn.Sequential:
    layers, previous = [], widths[0]
    for width in widths[1:]:
        layers += [nn.Linear(previous, width), nn.ReLU()]
        previous = width
    return nn.Sequential(*layers, nn.Linear(previous, out))


def _pairwise(user_parts, item_parts, network) -> torch.Tensor:
    """``network([user, item])`` for every user x item pair, a block at a time."""
    n_items = len(item_parts)
    width = user_parts.shape[1] + item_parts.shape[1]
    step = max(1, _SCORE_CELLS // (n_items * width))
    blocks = []
    for start in range(0, len(user_parts), step):
        users = user_parts[start : start + step]
        pairs = torch.cat(
            [
                users[:, None, :].expand(-1, n_items, -1),
                item_parts[None].expand(len(users), -1, -1),
            ],
            dim=-1,
        )
        blocks.append(network(pairs).squeeze(-1))
    return torch.cat(blocks)


def attribute_features(encoder, index, score, extra=()):
    """Gradient x input of ``score(item_vector, *extra)`` on an item's features.

    Parameters
    ----------
    encoder : ContentEncoder
    index : LongTensor of shape (1,)
        The item.
    score : callable
        Maps the item's vector (and the ``extra`` tensors) to a scalar.
    extra : tuple of Tensor
        Further inputs to attribute (e.g. id embeddings).

    Returns
    -------
    attributions : dict
        ``"numeric"`` (one value per numeric dimension), ``"tokens"`` (one
        per token position), ``"image"`` (one value), when present, and
        ``"extra"`` (one value per extra tensor).
    """
    leaves = {}
    extra = [tensor.detach().requires_grad_() for tensor in extra]
    if encoder is None:
        value = score(None, *extra)
        grads = torch.autograd.grad(value, extra)
        return {
            "extra": [(g * leaf).sum() for leaf, g in zip(extra, grads, strict=True)]
        }
    numeric, text, images = encoder.inputs(index)
    if numeric is not None:
        leaves["numeric"] = numeric = numeric.clone().requires_grad_()
    embedded = None
    if text is not None:
        leaves["tokens"] = embedded = (
            encoder.text_block.embedding(text).detach().requires_grad_()
        )
    if images is not None:
        leaves["image"] = images = images.clone().requires_grad_()
    value = score(encoder.encode(numeric, text, images, text_embedded=embedded), *extra)
    grads = torch.autograd.grad(value, [*leaves.values(), *extra])
    out = {}
    for (name, leaf), grad in zip(leaves.items(), grads, strict=False):
        product = (grad * leaf)[0]
        out[name] = {"numeric": product, "tokens": product.sum(-1)}.get(
            name, product.sum()
        )
    out["extra"] = [
        (grad * leaf).sum()
        for leaf, grad in zip(extra, grads[len(leaves) :], strict=True)
    ]
    return out


class _CachedItems(nn.Module):
    """Caches the vectors of all items between parameter updates."""

    def _all_items(self, compute) -> torch.Tensor:
        # An optimiser step bumps every parameter's version counter, so the
        # key changes whenever the vectors could have.
        key = (
            *(p._version for p in self.parameters()),
            next(self.parameters()).device,
        )
        cached = getattr(self, "_item_cache", None)
        if self.training or cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, compute())
            if not self.training:
                self._item_cache = cached
        return cached[1]

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_item_cache", None)
        return state


class ContentModule(_CachedItems):
    """Two towers: ``score(u, i) = <p_u, q_i>`` with ``q_i`` from the item's content.

    ``q_i`` comes only from the item's features (no item id), so an item
    nobody interacted with is scored like any other. ``p_u`` is the sum of a
    learned embedding, the mean of the vectors of the user's training items
    (their content profile, when ``history`` is given: a user with few
    interactions is still described by what they chose) and the encoding of
    the user's features (when given). Users without interactions have no
    embedding and rely on the rest. Without item features the item tower
    falls back to an id embedding.

    Parameters
    ----------
    n_users, n_items : int
    n_factors : int, default=64
    item_content, user_content : dict or None
        Keyword arguments of :class:`ContentEncoder` (``numeric``, ``text``,
        ``images``, ``vocab_size``).
    encoder_options : dict or None
        Shared encoder settings (``text_encoder``, ``hidden``).
    history : tuple of array-like or None
        ``(indptr, indices)`` of the training matrix (CSR) for the profiles.
    users_with_data : array-like of bool or None
        Users that have training interactions; the others' embeddings are 0.
    init_std : float, default=0.05

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import ContentModule
    >>> module = ContentModule(3, 4, n_factors=2,
    ...                        item_content={"numeric": torch.randn(4, 5)},
    ...                        history=([0, 2, 3, 3], [0, 1, 3]))
    >>> module(torch.tensor([0, 1]), torch.tensor([3, 2])).shape
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
        item_content=None,
        user_content=None,
        encoder_options=None,
        history=None,
        users_with_data=None,
        init_std=0.05,
    ):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, n_factors)
        nn.init.normal_(self.user_factors.weight, std=init_std)
        self.item_encoder = _encoder(item_content, n_factors, encoder_options)
        self.item_factors = None
        if self.item_encoder is None:
            self.item_factors = nn.Embedding(n_items, n_factors)
            nn.init.normal_(self.item_factors.weight, std=init_std)
        self.user_encoder = _encoder(user_content, n_factors, encoder_options)
        mask = torch.ones(n_users) if users_with_data is None else users_with_data
        self.register_buffer("user_mask", torch.as_tensor(mask, dtype=torch.float32))
        self.use_profile = history is not None
        if self.use_profile:
            indptr = torch.as_tensor(history[0], dtype=torch.long)
            counts = (indptr[1:] - indptr[:-1]).clamp(min=1)
            self.register_buffer("history_ptr", indptr)
            self.register_buffer(
                "history_idx", torch.as_tensor(history[1], dtype=torch.long)
            )
            self.register_buffer(
                "history_val",
                torch.repeat_interleave(1.0 / counts, indptr[1:] - indptr[:-1]),
            )
        self.n_items = n_items

    def profiles(self, owner, columns, weights, n_rows, item_vectors):
        """Weighted sums of item vectors: ``sum_j w_j q_j`` per row."""
        out = torch.zeros(n_rows, item_vectors.shape[1], device=item_vectors.device)
        return out.index_add_(0, owner, item_vectors[columns] * weights[:, None])

    def user_vectors(self, users, item_vectors=None) -> torch.Tensor:
        """User vectors; ``item_vectors`` (all items) feed the profiles."""
        vectors = self.user_factors(users) * self.user_mask[users, None]
        if self.user_encoder is not None:
            vectors = vectors + self.user_encoder(users)
        if self.use_profile:
            if item_vectors is None:
                item_vectors = self.all_item_vectors()
            flat = users.reshape(-1)
            owner, columns, weights = gather_rows(
                self.history_ptr, self.history_idx, self.history_val, flat
            )
            profile = self.profiles(owner, columns, weights, len(flat), item_vectors)
            vectors = vectors + profile.reshape(*users.shape, -1)
        return vectors

    def item_vectors(self, items) -> torch.Tensor:
        if self.item_encoder is None:
            return self.item_factors(items)
        return self.item_encoder(items)

    def catalog_vectors(self) -> torch.Tensor:
        """Every item's vector, with gradients when training."""
        if not self.training:
            return self.all_item_vectors()
        device = self.user_factors.weight.device
        return self.item_vectors(torch.arange(self.n_items, device=device))

    def score_pairs(self, users, *item_sets):
        """Scores of ``users`` against each tensor of items (broadcasting), the
        catalog encoded once for all of them when profiles are used."""
        if self.use_profile:
            catalog = self.catalog_vectors()
            user = self.user_vectors(users, catalog)
            return [
                (
                    user.reshape(*users.shape, 1, -1)
                    if items.dim() > users.dim()
                    else user
                )
                .mul(catalog[items])
                .sum(-1)
                for items in item_sets
            ]
        user = self.user_vectors(users)
        return [
            (user[:, None] if items.dim() > users.dim() else user)
            .mul(self.item_vectors(items))
            .sum(-1)
            for items in item_sets
        ]

    def forward(self, users, items) -> torch.Tensor:
        users, items = torch.broadcast_tensors(users, items)
        return self.score_pairs(users, items)[0]

    def all_item_vectors(self) -> torch.Tensor:
        device = self.user_factors.weight.device
        return self._all_items(
            lambda: self.item_vectors(torch.arange(self.n_items, device=device))
        )

    def score_vectors(self, user_vectors) -> torch.Tensor:
        return user_vectors @ self.all_item_vectors().T

    def score_all(self, users) -> torch.Tensor:
        return self.score_vectors(self.user_vectors(users))

    def attribute(self, user, item) -> dict:
        """Gradient x input of the score on the item's features."""
        return attribute_features(
            self.item_encoder,
            item.reshape(1),
            lambda vector: (self.user_vectors(user.reshape(1)) * vector).sum(),
        )

    def penalty(self, users) -> torch.Tensor:
        """Mean squared norm of the batch's learned user embeddings."""
        return (self.user_factors(users) ** 2).sum(-1).mean()


class HybridModule(_CachedItems):
    """``y = f(W1 x_content + W2 x_behaviour + b)``: an MLP over both signals.

    ``x_behaviour`` is the user and item id embeddings, ``x_content`` the
    encoded item (and user) features. During training the item's id
    embedding is dropped with probability ``id_dropout``, and it is always 0
    for items without training interactions, so the network learns to score
    from content alone: a cold item is ranked from its features.

    Parameters
    ----------
    n_users, n_items : int
    n_factors : int, default=32
        Size of each embedding and content encoding.
    hidden : tuple of int, default=(64,)
    id_dropout : float, default=0.3
    item_content, user_content, encoder_options
        As in :class:`ContentModule`.
    items_with_data : array-like of bool or None
        Items that have training interactions.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import HybridModule
    >>> module = HybridModule(3, 4, n_factors=2, hidden=(4,),
    ...                       item_content={"numeric": torch.randn(4, 5)})
    >>> module(torch.tensor([0, 1]), torch.tensor([3, 2])).shape
    torch.Size([2])
    >>> module.score_all(torch.tensor([0, 1, 2])).shape
    torch.Size([3, 4])
    """

    def __init__(
        self,
        n_users,
        n_items,
        n_factors=32,
        *,
        hidden=(64,),
        id_dropout=0.3,
        item_content=None,
        user_content=None,
        encoder_options=None,
        items_with_data=None,
    ):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, n_factors)
        self.item_factors = nn.Embedding(n_items, n_factors)
        for table in (self.user_factors, self.item_factors):
            nn.init.normal_(table.weight, std=0.01)
        self.item_encoder = _encoder(item_content, n_factors, encoder_options)
        self.user_encoder = _encoder(user_content, n_factors, encoder_options)
        n_parts = 2 + (self.item_encoder is not None) + (self.user_encoder is not None)
        self.mlp = _mlp((n_parts * n_factors, *tuple(hidden)))
        mask = torch.ones(n_items) if items_with_data is None else items_with_data
        self.register_buffer("item_mask", torch.as_tensor(mask, dtype=torch.float32))
        self.id_dropout = id_dropout
        self.n_items = n_items

    def _user_parts(self, users) -> torch.Tensor:
        parts = [self.user_factors(users)]
        if self.user_encoder is not None:
            parts.append(self.user_encoder(users))
        return torch.cat(parts, dim=-1)

    def _item_parts(self, items) -> torch.Tensor:
        keep = self.item_mask[items]
        if self.training and self.id_dropout:
            keep = keep * (torch.rand_like(keep) >= self.id_dropout)
        parts = [self.item_factors(items) * keep[..., None]]
        if self.item_encoder is not None:
            parts.append(self.item_encoder(items))
        return torch.cat(parts, dim=-1)

    def forward(self, users, items) -> torch.Tensor:
        users, items = torch.broadcast_tensors(users, items)
        parts = torch.cat([self._user_parts(users), self._item_parts(items)], dim=-1)
        return self.mlp(parts).squeeze(-1)

    def score_all(self, users) -> torch.Tensor:
        device = self.user_factors.weight.device
        items = self._all_items(
            lambda: self._item_parts(torch.arange(self.n_items, device=device))
        )
        return _pairwise(self._user_parts(users), items, self.mlp)

    def attribute(self, user, item) -> dict:
        """Gradient x input of the logit on the item's features and, as one
        ``"extra"`` value, on the behaviour part (the id embeddings)."""
        user, item = user.reshape(1), item.reshape(1)
        behaviour = torch.cat(
            [
                self.user_factors(user),
                self.item_factors(item) * self.item_mask[item, None],
            ],
            dim=-1,
        )
        user_content = [] if self.user_encoder is None else [self.user_encoder(user)]

        def logit(vector, behaviour):
            parts = [behaviour[:, : self.user_factors.embedding_dim], *user_content]
            parts.append(behaviour[:, self.user_factors.embedding_dim :])
            if vector is not None:
                parts.append(vector)
            return self.mlp(torch.cat(parts, dim=-1)).sum()

        return attribute_features(self.item_encoder, item, logit, extra=(behaviour,))


def _one_output(head: nn.Linear, hidden: torch.Tensor) -> torch.Tensor:
    """``head(hidden).squeeze(-1)`` for a one-output ``nn.Linear``, as a
    product and a sum: the matrix product's weight gradient is then a
    matrix-vector product, which the CPU BLAS splits over the batch by
    thread count, so seeded fits would differ with the number of threads."""
    return (hidden * head.weight[0]).sum(dim=-1) + head.bias[0]


class MultiTaskModule(_CachedItems):
    """A shared body with a rating head and an interaction head.

    The body is an MLP over the user and item embeddings (and the item's
    content encoding when given); ``rating`` is ``mu +`` a linear head, the
    interaction logit another linear head. ``forward`` returns the logit,
    the ranking score.

    Parameters
    ----------
    n_users, n_items : int
    n_factors : int, default=32
    hidden : tuple of int, default=(64, 32)
        Widths of the shared body.
    global_bias : float, default=0.0
        Initial ``mu`` of the rating head (the mean rating).
    item_content, encoder_options
        As in :class:`ContentModule`.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import MultiTaskModule
    >>> module = MultiTaskModule(3, 4, n_factors=2, hidden=(4,))
    >>> rating, logit = module.both(torch.tensor([0]), torch.tensor([3]))
    >>> rating.shape, logit.shape, module.score_all(torch.tensor([0, 1])).shape
    (torch.Size([1]), torch.Size([1]), torch.Size([2, 4]))
    """

    def __init__(
        self,
        n_users,
        n_items,
        n_factors=32,
        *,
        hidden=(64, 32),
        global_bias=0.0,
        item_content=None,
        encoder_options=None,
    ):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, n_factors)
        self.item_factors = nn.Embedding(n_items, n_factors)
        for table in (self.user_factors, self.item_factors):
            nn.init.normal_(table.weight, std=0.01)
        self.item_encoder = _encoder(item_content, n_factors, encoder_options)
        n_parts = 2 + (self.item_encoder is not None)
        widths = (n_parts * n_factors, *tuple(hidden))
        self.body = nn.Sequential(*list(_mlp(widths, out=widths[-1]))[:-1])
        self.rating_head = nn.Linear(widths[-1], 1)
        self.interaction_head = nn.Linear(widths[-1], 1)
        self.global_bias = nn.Parameter(torch.tensor(float(global_bias)))
        self.n_items = n_items

    def _item_parts(self, items) -> torch.Tensor:
        parts = [self.item_factors(items)]
        if self.item_encoder is not None:
            parts.append(self.item_encoder(items))
        return torch.cat(parts, dim=-1)

    def both(self, users, items):
        """``(rating, interaction logit)`` of (user, item) pairs."""
        users, items = torch.broadcast_tensors(users, items)
        hidden = self.body(
            torch.cat([self.user_factors(users), self._item_parts(items)], dim=-1)
        )
        rating = _one_output(self.rating_head, hidden) + self.global_bias
        return rating, _one_output(self.interaction_head, hidden)

    def forward(self, users, items) -> torch.Tensor:
        return self.both(users, items)[1]

    def rating(self, users, items) -> torch.Tensor:
        return self.both(users, items)[0]

    def score_all(self, users) -> torch.Tensor:
        device = self.user_factors.weight.device
        items = self._all_items(
            lambda: self._item_parts(torch.arange(self.n_items, device=device))
        )
        return _pairwise(
            self.user_factors(users),
            items,
            lambda block: _one_output(self.interaction_head, self.body(block)),
        )
