"""The recommender contract shared by every model, built-in or plugin.

:class:`RecommenderMixin` turns a model that can score the whole catalog for
known users into a full recommender: ``predict``, ``score_items``,
``recommend`` and ``score``, with unknown users and items, exclusion of seen
items, candidate lists, fold-in from a history, padding and chunked top-k on
the scores' device all handled once, here.

A model (see ``docs/plugins.rst``) subclasses ``RecommenderMixin`` and
``sklearn.base.BaseEstimator`` (in that order) and implements:

``fit(X, y=None, **fit_params)``
    Calls ``self._fit_interactions(X, y, ...)`` first, which validates the
    data and sets the fitted attributes common to every recommender, then
    learns its own state.
``_score_users(users)``
    Scores every catalog item for an int array of known user indices; returns
    a float tensor (any device) or ndarray of shape ``(len(users), n_items_)``.

and optionally:

``_score_history(rows)``
    Scores every item for users described only by a sparse ``(n, n_items_)`` row
    of interactions (fold-in); return ``None`` (the default) if the model
    cannot, and unknown users then get the popularity ranking.
``_predict_pairs(users, items)``
    Scores (user, item) index pairs when that is cheaper than whole rows.
``_predicts_ratings()``
    ``True`` when ``predict`` is on the scale of ``y`` (a rating model);
    unknown rows then fall back to the mean of ``y`` rather than popularity.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted

from ._config import chunk_rows
from .data import (
    check_features,
    check_ids,
    check_interactions,
    encode_ids,
    interaction_matrix,
    lookup_ids,
    mask_entries,
    matrix_rows,
)
from .metrics._ranking import check_k

__all__ = ["FitData", "History", "RecommenderMixin", "explanation_frame"]


class FitData(NamedTuple):
    """Encoded training rows returned by ``RecommenderMixin._fit_interactions``.

    Attributes
    ----------
    users : ndarray of int32, shape (n_interactions,)
        User index of each row (into ``users_``; int64 beyond ``2**31 - 1``
        users, see :func:`~sk_recsys.data.encode_ids`).
    items : ndarray of int32, shape (n_interactions,)
        Item index of each row (into ``items_``).
    y : ndarray of float64, shape (n_interactions,) or None
        Ratings or weights, ``None`` for implicit feedback.
    held_out : FitData or None
        The rows a ``holdout`` kept out of training (validation), if any.
    times : ndarray of int64, shape (n_interactions,) or None
        Order of each row within its user's sequence (dense ranks of the
        time column; ties keep row order), for sequential models; else None.
    """

    users: np.ndarray
    items: np.ndarray
    y: np.ndarray | None
    held_out: FitData | None = None
    times: np.ndarray | None = None

    def subset(self, rows) -> FitData:
        """The rows selected by a boolean mask or an index array."""
        return FitData(
            self.users[rows],
            self.items[rows],
            None if self.y is None else self.y[rows],
            times=None if self.times is None else self.times[rows],
        )


class History:
    """The ``history=`` argument of ``recommend``, encoded for one call.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of shape (n_users, n_items_)
        Summed weight of each history item per user (what bag-of-items
        models fold in, and what ``exclude_seen`` hides).
    indptr : ndarray of int64, shape (n_users + 1,)
    items : ndarray of int64
        Item indices of every user's history in the order given (repeats
        kept; items unknown to the model dropped): user ``r``'s sequence is
        ``items[indptr[r]:indptr[r + 1]]``, oldest first. Sequential models
        read it.
    """

    def __init__(self, matrix: sp.csr_matrix, indptr: np.ndarray, items: np.ndarray):
        self.matrix = matrix
        self.indptr = indptr
        self.items = items

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def rows(self, chunk: slice) -> History:
        """The histories of the users in ``chunk`` (a slice of rows)."""
        start, stop, _ = chunk.indices(len(self))
        bounds = self.indptr[start : stop + 1]
        return History(
            self.matrix[chunk], bounds - bounds[0], self.items[bounds[0] : bounds[-1]]
        )

    def lengths(self) -> np.ndarray:
        """Number of history items of each row."""
        return np.diff(self.indptr)

    def take(self, rows: np.ndarray) -> History:
        """The histories of the users at positions ``rows`` (an int array)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, stops = self.indptr[rows], self.indptr[rows + 1]
        lengths = stops - starts
        positions = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        positions += np.arange(lengths.sum())
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return History(self.matrix[rows], indptr, self.items[positions])


def _as_tensor(scores) -> torch.Tensor:
    if isinstance(scores, torch.Tensor):
        return scores.to(torch.float32)
    if sp.issparse(scores):
        scores = scores.toarray()
    return torch.from_numpy(
        np.require(scores, dtype=np.float32, requirements=["C", "W"])
    )


def _chunks(n_rows: int, n_cols: int, device="cpu"):
    # Users are scored a chunk at a time so that the temporaries stay within
    # the working memory (sk_recsys.set_config) whatever the number of users.
    step = chunk_rows(n_cols, torch.device(device).type)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _id_kind(ids: np.ndarray) -> str:
    return "str" if ids.dtype == object else "number"


def _padding_id(ids: np.ndarray):
    if ids.dtype == object:
        return None
    if ids.dtype.kind == "f":
        return np.nan
    return -1


def explanation_frame(reasons, weights, n: int) -> pd.DataFrame:
    """The ``n`` reasons with the largest weights, as ``explain`` returns them.

    Parameters
    ----------
    reasons : sequence
        What each weight is about (an item id, a feature name...).
    weights : array-like of float
        How much each reason adds to the score.
    n : int

    Returns
    -------
    explanation : DataFrame
        Columns ``reason`` and ``weight``, largest weight first.

    Examples
    --------
    >>> from sk_recsys.base import explanation_frame
    >>> explanation_frame(["tea", "jam", "pie"], [0.1, 0.7, -0.2], 2)
      reason  weight
    0    jam     0.7
    1    tea     0.1
    """
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(-weights, kind="stable")[:n]
    return pd.DataFrame(
        {"reason": [reasons[k] for k in order], "weight": weights[order]}
    )


class RecommenderMixin:
    """Mixin implementing the recommender contract on top of ``_score_users``.

    Fitted attributes set by ``_fit_interactions`` (every recommender has
    them):

    Attributes
    ----------
    users_ : ndarray of shape (n_users_,)
        Raw user ids; position = user index.
    items_ : ndarray of shape (n_items_,)
        Raw item ids of the catalog; position = item index, the column order
        of :meth:`score_items`.
    n_users_, n_items_ : int
        Sizes of the two id sets.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users_, n_items_)
        Training interactions (``y`` or 1 per row, repeated pairs summed).
    item_popularity_ : ndarray of shape (n_items_,)
        Number of distinct training users per item.
    global_mean_ : float
        Mean of ``y`` (1.0 for implicit feedback).
    n_features_in_ : int
        Number of columns of the ``X`` seen in ``fit``.

    A class may set ``_family`` (e.g. ``"neighbourhood"``, ``"neural"``,
    ``"sequential"``): the family column of ``sk-recsys models``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from sk_recsys.base import RecommenderMixin
    >>> class MostRated(RecommenderMixin, BaseEstimator):
    ...     def fit(self, X, y=None, **fit_params):
    ...         self._fit_interactions(X, y, **fit_params)
    ...         return self
    ...     def _score_users(self, users):
    ...         return np.tile(self.item_popularity_, (len(users), 1))
    >>> X = [["ann", "tea"], ["bob", "tea"], ["bob", "jam"], ["cid", "jam"],
    ...      ["cid", "pie"], ["dan", "jam"]]
    >>> ids, scores = MostRated().fit(X).recommend(["ann"], k=2)
    >>> ids.tolist()
    [['jam', 'pie']]
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.target_tags.required = False
        return tags

    # ------------------------------------------------------------------ fit

    def _fit_interactions(
        self, X, y=None, *, item_features=None, user_features=None, holdout=None
    ) -> FitData:
        """Validate training data and set the common fitted attributes.

        Items that appear only in ``item_features`` (users only in
        ``user_features``) join the catalog with no interactions. A
        ``holdout`` (e.g. :class:`~sk_recsys.model_selection.UserHoldout`)
        keeps some rows out of training: they are still in the catalog but
        not in ``interactions_``, popularity or the mean of ``y``.

        Returns
        -------
        data : FitData
            User and item index of each training row, ``y`` as float64 or
            None, and the held-out rows in ``data.held_out``.
        """
        rows = check_interactions(X, y)
        extra_users, extra_items = [], []
        if user_features is not None:
            check_features(user_features, rows.users, kind="user")
            extra_users = [check_ids(user_features.index, name="user_features ids")]
        if item_features is not None:
            check_features(item_features, rows.items, kind="item")
            extra_items = [check_ids(item_features.index, name="item_features ids")]
        self.users_, (user_codes, *_) = encode_ids(rows.users, *extra_users)
        self.items_, (item_codes, *_) = encode_ids(rows.items, *extra_items)
        self.n_users_, self.n_items_ = len(self.users_), len(self.items_)
        self._user_index_ = pd.Index(self.users_)
        self._item_index_ = pd.Index(self.items_)
        data = FitData(user_codes, item_codes, rows.y)
        if holdout is not None:
            held = np.asarray(holdout.mask(user_codes), dtype=bool)
            data = data.subset(~held)._replace(held_out=data.subset(held))
        self._set_interactions(
            interaction_matrix(
                data.users, data.items, data.y, shape=(self.n_users_, self.n_items_)
            )
        )
        self.global_mean_ = 1.0 if data.y is None else float(data.y.mean())
        self.n_features_in_ = rows.n_features
        return data

    def _set_interactions(self, matrix: sp.csr_matrix) -> None:
        """Store the training matrix and the popularity derived from it."""
        self.interactions_ = matrix
        self.item_popularity_ = np.bincount(matrix.indices, minlength=self.n_items_)

    # ---------------------------------------------------------------- hooks

    def _score_users(self, users: np.ndarray):
        raise NotImplementedError(
            f"{type(self).__name__} must implement _score_users(users) to score "
            "every catalog item for known user indices."
        )

    def _score_history(self, rows: sp.csr_matrix):
        return None

    def _predicts_ratings(self) -> bool:
        return False

    def _scoring_device(self):
        """Where ``_score_users`` puts its scores (sizes the scoring chunks)."""
        return "cpu"

    def _item_vectors(self):
        """Item vectors ``V`` such that scores are ``query @ V.T`` (plus a
        per-user constant), for approximate retrieval; None when the model
        does not score by inner products."""
        return None

    def _query_vectors(self, codes: np.ndarray, history: History | None):
        """``(queries, served)``: a user vector per row of ``codes`` and which
        rows have one (the others are scored exactly)."""
        raise NotImplementedError

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._gather_pairs(users, items, self._score_users)

    def _gather_pairs(self, users, items, score_rows) -> np.ndarray:
        """Read (user, item) pairs off whole rows ``score_rows(distinct_users)``.

        Users are scored once each, a chunk of rows at a time.
        """
        out = np.empty(len(users), dtype=np.float64)
        distinct, inverse = np.unique(users, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(distinct) + 1))
        for chunk in _chunks(len(distinct), self.n_items_, self._scoring_device()):
            scores = _as_tensor(score_rows(distinct[chunk]))
            rows = order[bounds[chunk.start] : bounds[chunk.stop]]
            local = torch.from_numpy(inverse[rows] - chunk.start).to(scores.device)
            cols = torch.from_numpy(items[rows]).to(scores.device)
            out[rows] = scores[local, cols].cpu().numpy()
        return out

    # ------------------------------------------------------------- lookups

    def _check_fitted(self):
        check_is_fitted(self, ["interactions_", "items_", "users_"])

    def _codes(self, ids: np.ndarray, *, users: bool) -> np.ndarray:
        index = self._user_index_ if users else self._item_index_
        codes = lookup_ids(index, ids)
        fitted = self.users_ if users else self.items_
        if (
            len(ids)
            and len(fitted)
            and (codes < 0).all()
            and _id_kind(ids) != _id_kind(fitted)
        ):
            what = "user" if users else "item"
            warnings.warn(
                f"The {what} ids passed are {_id_kind(ids)}s but the model was "
                f"fitted on {_id_kind(fitted)} {what} ids, so every one is unknown; "
                f"pass the ids in the type used in fit.",
                UserWarning,
                stacklevel=3,
            )
        return codes

    def _popularity_scores(self, n_rows: int, device) -> torch.Tensor:
        popularity = torch.as_tensor(
            self.item_popularity_, dtype=torch.float32, device=device
        )
        return popularity.expand(n_rows, -1).clone()

    def _user_scores(self, codes: np.ndarray, history: History | None = None):
        """Scores of every item for one chunk of users (unknown: -1).

        Rows with a history are folded in where the model supports it; other
        unknown users get the popularity ranking. Returns a float tensor of
        shape ``(len(codes), n_items_)``.
        """
        known = codes >= 0
        with_history = (
            np.zeros(len(codes), dtype=bool)
            if history is None
            else np.diff(history.matrix.indptr) > 0
        )
        parts = {}
        if with_history.any():
            rows = (
                matrix_rows(self.interactions_, codes[with_history])
                + history.matrix[with_history]
            )
            folded = self._score_history(sp.csr_matrix(rows))
            if folded is not None:
                parts["history"] = (with_history, _as_tensor(folded))
            else:
                with_history[:] = False
        from_model = known & ~with_history
        if from_model.any():
            parts["model"] = (
                from_model,
                _as_tensor(self._score_users(codes[from_model])),
            )
        device = next(iter(parts.values()))[1].device if parts else torch.device("cpu")
        scores = self._popularity_scores(len(codes), device)
        for mask, part in parts.values():
            scores[torch.from_numpy(mask).to(device)] = part.to(device)
        return scores

    def _parse_history(self, history, users: np.ndarray) -> History | None:
        """The ``history=`` argument of recommend, encoded for ``users``."""
        if history is None:
            return None
        if isinstance(history, dict):
            entries = [history.get(u) for u in users.tolist()]
        elif isinstance(history, str) or not hasattr(history, "__len__"):
            raise ValueError(
                "history must be a dict {user: items} or a sequence with one entry "
                f"(items, or None) per user, got {type(history).__name__}."
            )
        else:
            entries = list(history)
            if len(entries) != len(users):
                raise ValueError(
                    f"history has {len(entries)} entries for {len(users)} users; "
                    "pass one entry (a list of items, or None) per user."
                )
        row_ids, item_ids, values = [], [], []
        for row, entry in enumerate(entries):
            if entry is None:
                continue
            if isinstance(entry, str) or np.isscalar(entry):
                raise ValueError(
                    f"history entry {row} is a single id {entry!r}; wrap it in a "
                    "list of item ids."
                )
            if isinstance(entry, dict):
                item_ids.extend(entry.keys())
                values.extend(entry.values())
            else:
                entry = list(entry)
                item_ids.extend(entry)
                values.extend([1.0] * len(entry))
            row_ids.extend([row] * (len(item_ids) - len(row_ids)))
        shape = (len(users), self.n_items_)
        if not item_ids:
            return History(
                sp.csr_matrix(shape, dtype=np.float32),
                np.zeros(len(users) + 1, dtype=np.int64),
                np.zeros(0, dtype=np.int64),
            )
        items = self._codes(
            check_ids(np.asarray(item_ids, dtype=object), name="history items"),
            users=False,
        )
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError("history values contain NaN or inf; pass finite weights.")
        known = items >= 0
        row_ids = np.asarray(row_ids)[known]
        matrix = interaction_matrix(row_ids, items[known], values[known], shape=shape)
        # Entries were collected row by row, in the order given.
        counts = np.bincount(row_ids, minlength=len(users))
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return History(matrix, indptr, items[known].astype(np.int64))

    def _explain_codes(self, user, item, n):
        """Indices of ``user`` and ``item`` for ``explain`` (-1 when unknown)."""
        self._check_fitted()
        n = check_k(n)
        users = check_ids(user, name="user")
        items = check_ids(item, name="item")
        if len(users) != 1 or len(items) != 1:
            raise ValueError("explain takes one user id and one item id.")
        return (
            int(self._codes(users, users=True)[0]),
            int(self._codes(items, users=False)[0]),
            n,
        )

    def _explain_history(self, user, item, n, weigh) -> pd.DataFrame:
        """``explain`` whose reasons are the user's training items.

        ``weigh(u, i, row)`` gets the user's and item's indices and the
        user's training row (1 x n_items CSR) and returns one weight per
        stored entry of the row. Unknown ids give an empty explanation.
        """
        u, i, n = self._explain_codes(user, item, n)
        if u < 0 or i < 0:
            return explanation_frame([], [], n)
        row = self.interactions_[[u]]
        return explanation_frame(self.items_[row.indices], weigh(u, i, row), n)

    # ------------------------------------------------------------ contract

    def predict(self, X) -> np.ndarray:
        """Score each (user, item) row of ``X``.

        Rating models (fitted with ``y``) predict on the scale of ``y``.
        Rows with an unknown user or item get the mean of ``y`` for rating
        models, else the item's training popularity (0 for unknown items).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_rows, >= 2)
            User ids in column 0, item ids in column 1; other columns ignored.

        Returns
        -------
        scores : ndarray of shape (n_rows,)
        """
        self._check_fitted()
        rows = check_interactions(X, min_rows=0)
        users = self._codes(rows.users, users=True)
        items = self._codes(rows.items, users=False)
        known = (users >= 0) & (items >= 0)
        out = np.empty(len(users), dtype=np.float64)
        if known.any():
            out[known] = self._predict_pairs(users[known], items[known])
        if self._predicts_ratings():
            out[~known] = self.global_mean_
        else:
            # Unknown items read the appended popularity 0.
            popularity = np.append(self.item_popularity_, 0).astype(np.float64)
            out[~known] = popularity[np.where(items < 0, self.n_items_, items)[~known]]
        return out

    def score_items(self, users, items=None) -> np.ndarray:
        """Ranking score of every catalog item (or of ``items``) for each user.

        Unknown users get the popularity scores; unknown ``items`` get
        ``-inf`` (they cannot be ranked).

        Parameters
        ----------
        users : array-like of shape (n_users,)
            Raw user ids.
        items : array-like of shape (n_items,), default=None
            Raw item ids; ``None`` means the whole catalog in ``items_`` order.

        Returns
        -------
        scores : ndarray of float32, shape (n_users, n_items)
        """
        self._check_fitted()
        codes = self._codes(check_ids(users, name="users"), users=True)
        item_codes = None
        if items is not None:
            item_codes = self._codes(check_ids(items, name="items"), users=False)
        n_cols = self.n_items_ if item_codes is None else len(item_codes)
        out = np.empty((len(codes), n_cols), dtype=np.float32)
        for chunk in _chunks(len(codes), self.n_items_, self._scoring_device()):
            scores = self._user_scores(codes[chunk])
            if item_codes is not None:
                # Unknown items read an extra column of -inf.
                columns = np.where(item_codes < 0, self.n_items_, item_codes)
                scores = torch.cat(
                    [scores, torch.full_like(scores[:, :1], -torch.inf)], dim=1
                )[:, torch.from_numpy(columns).to(scores.device)]
            out[chunk] = scores.cpu().numpy()
        return out

    def recommend(
        self,
        users,
        k=10,
        *,
        exclude_seen=True,
        candidates=None,
        history=None,
        index=None,
    ):
        """Top ``k`` items for each user, best first.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            Raw user ids; unknown users are served from ``history`` when the
            model can fold it in, else by popularity.
        k : int, default=10
            Length of each list; larger than the catalog is a ``ValueError``.
        exclude_seen : bool, default=True
            Leave out the user's training items and ``history`` items.
        candidates : array-like of item ids, default=None
            Rank only these items (ids unknown to the model are dropped).
        history : dict or sequence, default=None
            Recent items per user: a dict ``{user: items}`` or one entry per
            user, each ``None``, a list of item ids, or a dict ``{item:
            weight}``. Added to the user's training row for models that fold
            in (neighbourhood and linear item models); always excluded when
            ``exclude_seen``.
        index : sk_recsys.retrieval.ItemIndex, default=None
            Answer from this approximate index of the model's item vectors
            instead of scoring the whole catalog (models that score by inner
            products); ``None`` is exact. Not with ``candidates``.

        Returns
        -------
        item_ids : ndarray of shape (n_users, k)
            Raw item ids, best first.
        scores : ndarray of float32, shape (n_users, k)
            Their scores. When fewer than ``k`` items are rankable (after
            exclusions and ``candidates``) the row is padded with score
            ``-inf`` and item id ``None`` (str catalogs), ``-1`` (int) or
            NaN (float): test ``np.isneginf(scores)``.
        """
        self._check_fitted()
        users = check_ids(users, name="users")
        k = check_k(k)
        if k > self.n_items_:
            raise ValueError(
                f"k={k} is larger than the catalog of {self.n_items_} items; ask "
                f"for at most {self.n_items_}."
            )
        codes = self._codes(users, users=True)
        columns = None
        if candidates is not None:
            cand = self._codes(check_ids(candidates, name="candidates"), users=False)
            columns = torch.from_numpy(np.unique(cand[cand >= 0]))
        if index is not None and candidates is not None:
            raise ValueError(
                "candidates= ranks only the given items, exactly; pass it or an "
                "index=, not both."
            )
        history = self._parse_history(history, users)
        top_ids = np.empty((len(users), k), dtype=np.int64)
        top_scores = np.empty((len(users), k), dtype=np.float32)
        for chunk in _chunks(len(users), self.n_items_, self._scoring_device()):
            chunk_history = None if history is None else history.rows(chunk)
            if index is not None:
                seen = None
                if exclude_seen:
                    seen = matrix_rows(self.interactions_, codes[chunk])
                    if chunk_history is not None:
                        seen = sp.csr_matrix(seen + chunk_history.matrix)
                values, index_ids = index._top_k(
                    self, codes[chunk], chunk_history, seen, k
                )
                top_scores[chunk] = values.numpy()
                top_ids[chunk] = index_ids.numpy()
                continue
            scores = self._user_scores(codes[chunk], chunk_history)
            if exclude_seen:
                seen = matrix_rows(self.interactions_, codes[chunk])
                if chunk_history is not None:
                    seen = seen + chunk_history.matrix
                mask_entries(scores, seen)
            col_map = None
            if columns is not None:
                col_map = columns.to(scores.device)
                scores = scores[:, col_map]
            n_top = min(k, scores.shape[1])
            values, top = torch.topk(scores, n_top, dim=1)
            if col_map is not None:
                top = col_map[top]
            top_scores[chunk, :n_top] = values.cpu().numpy()
            top_scores[chunk, n_top:] = -np.inf
            top_ids[chunk, :n_top] = top.cpu().numpy()
        padded = np.isneginf(top_scores)
        item_ids = (
            self.items_[np.where(padded, 0, top_ids)] if self.n_items_ else top_ids
        )
        if padded.any():
            item_ids = (
                item_ids.astype(object) if self.items_.dtype == object else item_ids
            )
            item_ids[padded] = _padding_id(self.items_)
        return item_ids, top_scores

    def score(self, X, y=None) -> float:
        """NDCG@10 of the full-catalog ranking on the rows of ``X``.

        Each user's training items are excluded and the rows of ``X`` are the
        relevant items (see :func:`sk_recsys.metrics.make_ranking_scorer`).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_rows, >= 2)
            Held-out interactions.
        y : array-like of shape (n_rows,), default=None
            Ignored beyond validation; every row counts as relevant.

        Returns
        -------
        ndcg : float
            Higher is better.
        """
        from .metrics import make_ranking_scorer

        return make_ranking_scorer("ndcg", k=10)(self, X, y)
