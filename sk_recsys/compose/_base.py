"""What the meta-recommenders share: nested parameters of a list of
recommenders, and reading a fitted member's scores on the composite's
catalog."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..base import History, RecommenderMixin
from ..data import lookup_ids, mask_entries, matrix_rows


class EstimatorListMixin:
    """Nested ``get_params``/``set_params`` through a list-valued parameter.

    A composite whose parameter ``_members_param`` holds a list of
    estimators exposes ``<param>__<i>`` (the i-th estimator) and
    ``<param>__<i>__<name>`` (its parameters), as ``Pipeline`` does with
    step names, so ``GridSearchCV`` tunes the members. A single estimator
    in that parameter nests as scikit-learn always does (``<param>__<name>``).
    """

    _members_param: str

    def _member_list(self):
        value = getattr(self, self._members_param)
        return list(value) if isinstance(value, list | tuple) else None

    def _members(self) -> list:
        """The members as a list, a single estimator included."""
        members = self._member_list()
        return [getattr(self, self._members_param)] if members is None else members

    def _reads_order(self) -> bool:
        """Whether a member is a sequential model (the order of history counts)."""
        from ..models._sequential import is_sequential

        return any(is_sequential(member) for member in self._members())

    def _expected_failed_checks(self) -> dict:
        """The conformance checks a member is known to fail, the composite too."""
        expected = {}
        for member in self._members():
            expected.update(getattr(member, "_expected_failed_checks", dict)())
        return expected

    def get_params(self, deep=True):
        out = super().get_params(deep=deep)
        members = self._member_list()
        if deep and members is not None:
            for i, member in enumerate(members):
                key = f"{self._members_param}__{i}"
                out[key] = member
                if hasattr(member, "get_params"):
                    for name, value in member.get_params(deep=True).items():
                        out[f"{key}__{name}"] = value
        return out

    def set_params(self, **params):
        name = self._members_param
        members = self._member_list()
        own = {}
        nested = {}
        for key, value in params.items():
            head, _, rest = key.partition("__")
            if head != name or not rest or members is None:
                own[key] = value
                continue
            index, _, sub = rest.partition("__")
            if not index.isdigit() or int(index) >= len(members):
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}: "
                    f"{name} has {len(members)} estimators, numbered 0 to "
                    f"{len(members) - 1}."
                )
            nested.setdefault(int(index), []).append((sub, value))
        super().set_params(**own)
        if nested:
            # A new list, as Pipeline does, so a list the caller shares is
            # not changed under them; nested names reach the member itself.
            members = self._member_list()
            for index, pairs in nested.items():
                for sub, value in pairs:
                    if sub:
                        members[index].set_params(**{sub: value})
                    else:
                        members[index] = value
            setattr(self, name, members)
        return self


def check_members(members, name: str, owner: str) -> list:
    """The recommenders of a composite, as a non-empty list."""
    members = list(members) if isinstance(members, list | tuple) else [members]
    if not members:
        raise ValueError(f"{owner} needs at least one recommender in {name}.")
    for i, member in enumerate(members):
        if not isinstance(member, RecommenderMixin):
            raise ValueError(
                f"{name}[{i}] is a {type(member).__name__}; {owner} combines "
                "sk_recsys recommenders (built-ins, or plugins built on "
                "sk_recsys.RecommenderMixin)."
            )
    return members


def side_information(item_features, user_features) -> dict:
    """The side-information keyword arguments given, for the members' fit."""
    given = {"item_features": item_features, "user_features": user_features}
    return {name: value for name, value in given.items() if value is not None}


def check_weights(weights, n: int, owner: str) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n,) or not np.isfinite(weights).all():
        raise ValueError(
            f"{owner} got weights of shape {weights.shape}; pass {n} finite "
            "numbers, one per recommender."
        )
    return weights


class Aligned:
    """A fitted recommender read on another catalog's user and item codes.

    The composite and its member usually share their catalog (both fitted
    on the same rows): then codes pass through. A member fitted on a
    subset of the rows (the earlier part of each user's rows, for a
    :class:`CandidateRanker`'s training) knows fewer ids; its scores are
    mapped onto the composite's columns, ``-inf`` for items it does not
    know.
    """

    def __init__(self, model, users: np.ndarray, items: np.ndarray):
        self.model = model
        self.n_items = len(items)
        same_users = np.array_equal(np.asarray(model.users_), users)
        same_items = np.array_equal(np.asarray(model.items_), items)
        self.user_map = (
            None if same_users else lookup_ids(pd.Index(model.users_), users)
        )
        # composite column -> member column (-1: unknown to the member)
        self.item_map = (
            None if same_items else lookup_ids(pd.Index(model.items_), items)
        )

    def scores(self, codes: np.ndarray, history: History | None) -> torch.Tensor:
        """Float tensor (len(codes), n_items): the member's scores, unmasked."""
        model = self.model
        if self.user_map is not None:
            codes = np.where(codes >= 0, self.user_map[np.maximum(codes, 0)], -1)
        if self.item_map is not None and history is not None:
            history = _remap_history(history, self.item_map, model.n_items_)
        scores = model._user_scores(codes, history).float()
        if self.item_map is None:
            return scores
        columns = np.where(self.item_map < 0, model.n_items_, self.item_map)
        padded = torch.cat([scores, torch.full_like(scores[:, :1], -torch.inf)], 1)
        return padded[:, torch.from_numpy(columns).to(scores.device)]


def _remap_history(history: History, item_map: np.ndarray, n_items: int) -> History:
    """A history in a member's item codes; items it does not know are dropped."""
    coo = history.matrix.tocoo()
    keep = item_map[coo.col] >= 0
    matrix = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], item_map[coo.col[keep]])),
        shape=(coo.shape[0], n_items),
    )
    mapped = item_map[history.items]
    kept = mapped >= 0
    rows = np.repeat(np.arange(len(history)), np.diff(history.indptr))
    counts = np.bincount(rows[kept], minlength=len(history))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return History(matrix, indptr, mapped[kept].astype(np.int64))


def seen_mask(
    scores: torch.Tensor, seen: sp.csr_matrix, codes, history
) -> torch.Tensor:
    """``scores`` with each user's training (and ``history``) items at ``-inf``."""
    rows = matrix_rows(seen, codes)
    if history is not None:
        rows = rows + history.matrix
    return mask_entries(scores.clone(), rows)


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
    return int(value)


def row_statistics(values: torch.Tensor, kind: str):
    """Per-row ``(center, scale)`` of the finite entries of ``values``.

    ``"minmax"``: the minimum and the range; ``"zscore"``: the mean and the
    standard deviation. A row without finite entries gets ``(0, 1)``, and a
    zero scale becomes 1.
    """
    finite = torch.isfinite(values)
    count = finite.sum(1, keepdim=True).clamp(min=1)
    if kind == "minmax":
        low = torch.where(finite, values, torch.inf).amin(1, keepdim=True)
        high = torch.where(finite, values, -torch.inf).amax(1, keepdim=True)
        center, scale = low, high - low
    else:
        center = torch.where(finite, values, 0.0).sum(1, keepdim=True) / count
        deviation = torch.where(finite, values - center, 0.0)
        scale = (deviation.square().sum(1, keepdim=True) / count).sqrt()
    center = torch.where(torch.isfinite(center), center, 0.0)
    scale = torch.where(torch.isfinite(scale) & (scale > 0), scale, 1.0)
    return center, scale


def normalized(scores, masked, kind):
    """``scores`` normalised by statistics of each row's finite ``masked`` entries.

    Entries whose score is not finite get the row's smallest normalised value.
    """
    center, scale = row_statistics(masked, kind)
    z = (scores - center) / scale
    valid = torch.isfinite(z)
    floor = torch.where(valid, z, torch.inf).amin(1, keepdim=True)
    floor = torch.where(torch.isfinite(floor), floor, 0.0)
    return torch.where(valid, z, floor)
