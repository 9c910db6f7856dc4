"""Side information for the neural models that read item and user features."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import explanation_frame
from ..data import FeatureEncoder, check_ids, lookup_ids

__all__ = ["SideInformationMixin"]


def _rows_for(features: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """``features`` reordered to ``ids`` (every id has a row: checked in fit)."""
    index = pd.Index(check_ids(features.index.to_numpy(), name="features ids"))
    return features.iloc[lookup_ids(index, ids)]


class SideInformationMixin:
    """Encodes ``item_features`` / ``user_features`` for a model's module.

    A model using it names ``text_encoder``, ``vocab_size``, ``max_length``
    and ``encoder_width`` in ``__init__``; ``_encode_side_information`` fits
    a :class:`~sk_recsys.data.FeatureEncoder` per side and keeps the encoded
    arrays, from which the module is built.
    """

    _side_constraints = {
        "text_encoder": [StrOptions({"cnn", "rnn"})],
        "image_encoder": [StrOptions({"cnn"})],
        "vocab_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_length": [Interval(numbers.Integral, 1, None, closed="left")],
        "encoder_width": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def _encode_side_information(self, item_features, user_features, *, needs_items):
        self.item_feature_encoder_ = self.user_feature_encoder_ = None
        self._side_inputs_ = {"item_content": None, "user_content": None}
        if item_features is None and needs_items:
            warnings.warn(
                f"{type(self).__name__} got no item_features: items are represented "
                "by their id alone (matrix factorisation); pass item_features to "
                "learn from what items are.",
                UserWarning,
                stacklevel=4,
            )
        sides = (
            ("item", item_features, self.items_),
            ("user", user_features, self.users_),
        )
        for side, features, ids in sides:
            if features is None or features.shape[1] == 0:
                continue
            encoder = FeatureEncoder(
                vocab_size=self.vocab_size,
                max_length=self.max_length,
                name=f"{side}_features",
            ).fit(features)
            encoded = encoder.transform(_rows_for(features, ids))
            content = {
                name: value
                for name, value in encoded._asdict().items()
                if value is not None
            }
            if "text" in content:
                content["vocab_size"] = len(encoder.tokens_)
            setattr(self, f"{side}_feature_encoder_", encoder)
            self._side_inputs_[f"{side}_content"] = content

    def _encoder_options(self) -> dict:
        return {"text_encoder": self.text_encoder, "hidden": self.encoder_width}

    def _side_module_params(self) -> dict:
        """The encoded features and encoder settings for the module.

        On the CPU the module's buffers share memory with these arrays.
        """
        return {**self._side_inputs_, "encoder_options": self._encoder_options()}

    def _has_data(self, axis: int) -> torch.Tensor:
        """Which users (axis=1) or items (axis=0) have training interactions."""
        counts = np.asarray((self.interactions_ != 0).sum(axis=axis)).ravel()
        return torch.as_tensor(counts > 0, dtype=torch.float32)

    def _feature_explanation(self, attributions: dict, item: int, n: int):
        """Reasons from gradient x input attributions of an item's features."""
        encoder = self.item_feature_encoder_
        reasons, weights = [], []
        if "numeric" in attributions:
            reasons += list(encoder.numeric_names_)
            weights += attributions["numeric"].detach().tolist()
        if "tokens" in attributions:
            ids = self.module_.item_encoder.text[item].cpu().numpy()
            per_token = {}
            for token_id, weight in zip(
                ids, attributions["tokens"].tolist(), strict=True
            ):
                if token_id:
                    token = f"word {encoder.tokens_[token_id]!r}"
                    per_token[token] = per_token.get(token, 0.0) + weight
            reasons += list(per_token)
            weights += list(per_token.values())
        if "image" in attributions:
            reasons.append("image")
            weights.append(float(attributions["image"].detach()))
        return reasons, weights

    def _explain_with(self, user, item, n, extra_reasons=()):
        """``explain`` for models whose module has ``attribute(user, item)``."""
        u, i, n = self._explain_codes(user, item, n)
        if u < 0 or i < 0:
            return explanation_frame([], [], n)
        self._set_training(False)
        attributions = self.module_.attribute(
            self._device_tensor(u), self._device_tensor(i)
        )
        reasons, weights = ([], [])
        if self.item_feature_encoder_ is not None:
            reasons, weights = self._feature_explanation(attributions, i, n)
        for reason, value in zip(extra_reasons, attributions["extra"], strict=True):
            reasons.append(reason)
            weights.append(float(value.detach()))
        return explanation_frame(reasons, weights, n)
