"""Scoring by inner products of fitted user and item factors, on a device."""

from __future__ import annotations

import numpy as np
import torch

from ..utils import resolve_device


class FactorScoringMixin:
    """A user's scores are ``user_factors_[u] @ item_factors_.T + offset_``.

    For the non-neural factor models (:class:`~sk_recsys.models.BayesianMF`,
    :class:`~sk_recsys.models.ImplicitALS`): the factors live as numpy
    arrays (what pickles and saves) and as tensors on the scoring device,
    which are rebuilt on load, on the CPU when the saved device is absent.
    """

    offset_ = 0.0

    def _set_factors(self, user_factors, item_factors) -> None:
        self._user_factors_device_ = user_factors.float()
        self._item_factors_device_ = item_factors.float()
        self.user_factors_ = self._user_factors_device_.cpu().numpy()
        self.item_factors_ = self._item_factors_device_.cpu().numpy()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_user_factors_device_", None)
        state.pop("_item_factors_device_", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "user_factors_" in state:
            device = resolve_device(self.device, fallback=True)
            self._user_factors_device_ = torch.from_numpy(self.user_factors_).to(device)
            self._item_factors_device_ = torch.from_numpy(self.item_factors_).to(device)

    def _scoring_device(self):
        return self._item_factors_device_.device

    def _score_users(self, users):
        device = self._user_factors_device_.device
        factors = self._user_factors_device_[torch.as_tensor(users, device=device)]
        return factors @ self._item_factors_device_.T + self.offset_

    def _item_vectors(self):
        return self.item_factors_

    def _query_vectors(self, codes, history):
        served = codes >= 0
        if history is not None:  # folded in exactly instead
            served &= history.lengths() == 0
        return torch.from_numpy(self.user_factors_[np.maximum(codes, 0)]), served

    def _predict_pairs(self, users, items):
        # Pair by pair, so a row's prediction does not depend on which other
        # rows share its matrix product (sklearn's subset invariance).
        u = torch.from_numpy(np.asarray(self.user_factors_[users])).double()
        v = torch.from_numpy(np.asarray(self.item_factors_[items])).double()
        return ((u * v).sum(1) + self.offset_).numpy()
