"""Scoring and explaining by an item-item weight matrix: ``scores = x_u W``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..utils import resolve_device


class ItemItemMixin:
    """A user's score for item ``i`` is ``sum_j x_uj W_ji`` over their items.

    For the linear item-item models (:class:`~sk_recsys.models.EASE`,
    :class:`~sk_recsys.models.SLIM`, :class:`~sk_recsys.models.RP3Beta`):
    ``coef_`` holds ``W`` (a dense array or a scipy CSR matrix), ``x_u`` is
    the user's training row (binary when the model binarizes), so new users
    fold in from ``history=`` with no refit, and each history item's term
    ``x_uj W_ji`` is one reason of :meth:`explain`. A dense ``W`` is kept on
    the model's device for scoring; a sparse one is multiplied by scipy.
    """

    binarize = True

    def _set_coef(self, weights) -> None:
        """Store ``W``: a torch tensor (dense, on the fitting device) or a CSR."""
        if isinstance(weights, torch.Tensor):
            self._coef_device_ = weights.to(torch.float32)
            self.coef_ = self._coef_device_.cpu().numpy()
        else:
            self.coef_ = sp.csr_matrix(weights, dtype=np.float32)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_coef_device_", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if isinstance(state.get("coef_"), np.ndarray):
            device = resolve_device(self.device, fallback=True)
            self._coef_device_ = torch.from_numpy(self.coef_).to(device)

    def _scoring_device(self):
        dense = getattr(self, "_coef_device_", None)
        return "cpu" if dense is None else dense.device

    def _history_values(self, rows):
        return (rows != 0).astype(np.float32) if self.binarize else rows

    def _score_history(self, rows):
        rows = self._history_values(rows)
        dense = getattr(self, "_coef_device_", None)
        if dense is None:
            return torch.from_numpy((rows @ self.coef_).toarray().astype(np.float32))
        values = torch.from_numpy(rows.toarray().astype(np.float32))
        return values.to(dense.device) @ dense

    def _score_users(self, users):
        return self._score_history(self.interactions_[users])

    def explain(self, user, item, *, n=5):
        """The user's history items that most support the score of ``item``.

        The score is ``sum_j x_uj W_ji``: each history item ``j`` contributes
        its weight ``W_ji`` (``coef_[j, i]``) times the user's value for it
        (1 when the model binarizes).

        Parameters
        ----------
        user, item : scalar
            Raw ids.
        n : int, default=5
            Reasons returned.

        Returns
        -------
        explanation : DataFrame
            ``reason`` (a raw item id from the user's history) and ``weight``
            (its additive part of the score), largest first; empty for an
            unknown user or item.

        Examples
        --------
        >>> from sk_recsys.models import EASE
        >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
        ...      ["cid", "tea"], ["cid", "pie"], ["dan", "tea"]]
        >>> EASE(l2=1.0).fit(X).explain("dan", "jam")["reason"].tolist()
        ['tea']
        """

        def weigh(u, i, row):
            values = self._history_values(row).data
            column = self.coef_[row.indices, i]
            if sp.issparse(column):
                column = column.toarray()
            return values * np.asarray(column).ravel()

        return self._explain_history(user, item, n, weigh)
