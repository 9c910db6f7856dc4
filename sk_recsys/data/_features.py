"""Side information (item or user features) turned into model-ready arrays.

A features DataFrame is indexed by raw id; each column is one of:

* **numeric** (int, float, bool): standardised; missing values take the
  column mean;
* **categorical** (pandas ``category`` dtype): one-hot;
* **text** (str): tokenised with scikit-learn's ``CountVectorizer`` analyzer
  (lowercase words), mapped to ids of the ``vocab_size`` most frequent
  tokens (0 pads, 1 is out of vocabulary); several text columns are read one
  after the other into one sequence of at most ``max_length`` tokens;
* **image** (each value an array of shape (C, H, W)): stacked and
  normalised per channel.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

__all__ = ["EncodedFeatures", "FeatureEncoder"]

PAD, OOV = 0, 1


class EncodedFeatures(NamedTuple):
    """Arrays for one features DataFrame, rows in the order they were asked for.

    Attributes
    ----------
    numeric : ndarray of float32, shape (n, n_numeric) or None
        Standardised numeric and one-hot categorical columns.
    text : ndarray of int64, shape (n, max_length) or None
        Token ids, 0-padded.
    images : ndarray of float32, shape (n, C, H, W) or None
    """

    numeric: np.ndarray | None
    text: np.ndarray | None
    images: np.ndarray | None


def _is_image_column(column: pd.Series) -> bool:
    if column.dtype != object or len(column) == 0:
        return False
    first = column.iloc[0]
    return isinstance(first, np.ndarray) and first.ndim == 3


def _is_text_column(column: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:
        return True
    return column.dtype == object and pd.api.types.infer_dtype(column) in (
        "string",
        "empty",
    )


class FeatureEncoder:
    """Encode a side-information DataFrame into numeric, text and image arrays.

    Parameters
    ----------
    vocab_size : int, default=5000
        Most frequent tokens kept for text columns.
    min_df : int, default=2
        Fewest rows a token must appear in to be kept: a word of one item
        only identifies that item and teaches a model nothing about others.
    max_length : int, default=32
        Tokens kept per row (later ones are cut).
    name : str, default="features"
        What the frame is, for error messages (e.g. ``"item_features"``).

    Attributes
    ----------
    numeric_names_ : list of str
        Name of each numeric dimension (``"year"``, ``"gender=F"``...).
    text_columns_, image_columns_ : list of str
    vocabulary_ : dict of str to int
        Token -> id (ids from 2).
    tokens_ : ndarray of str
        id -> token (``"<pad>"`` and ``"<oov>"`` for 0 and 1).
    image_shape_ : tuple of int or None

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_recsys.data import FeatureEncoder
    >>> frame = pd.DataFrame({"title": ["red tea", "green tea"], "price": [1.0, 3.0]},
    ...                      index=["a", "b"])
    >>> encoded = FeatureEncoder(min_df=1, max_length=3).fit(frame).transform(frame)
    >>> encoded.numeric.ravel().tolist(), encoded.text.tolist()
    ([-1.0, 1.0], [[4, 2, 0], [3, 2, 0]])
    """

    def __init__(self, *, vocab_size=5000, min_df=2, max_length=32, name="features"):
        self.vocab_size = vocab_size
        self.min_df = min_df
        self.max_length = max_length
        self.name = name

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        """Learn column kinds, scaling, categories, vocabulary and image stats."""
        self.numeric_columns_, self.categorical_columns_ = [], []
        self.text_columns_, self.image_columns_ = [], []
        for column in frame.columns:
            values = frame[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                self.categorical_columns_.append(column)
            elif _is_image_column(values):
                self.image_columns_.append(column)
            elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(
                values
            ):
                self.numeric_columns_.append(column)
            elif _is_text_column(values):
                self.text_columns_.append(column)
            else:
                raise ValueError(
                    f"Column {column!r} of {self.name} is neither numeric, "
                    "categorical, text (str) nor images (arrays of shape (C, H, W)); "
                    "convert it or drop it."
                )
        numeric = frame[self.numeric_columns_].astype(np.float64)
        if np.isinf(numeric.to_numpy()).any():
            raise ValueError(
                f"The numeric columns of {self.name} contain inf; replace it with "
                "a finite value or NaN."
            )
        self.means_ = numeric.mean().fillna(0.0).to_numpy()
        scale = numeric.std(ddof=0).fillna(0.0).to_numpy()
        self.scales_ = np.where(scale > 0, scale, 1.0)
        self.categories_ = {
            column: list(frame[column].cat.categories)
            for column in self.categorical_columns_
        }
        self.numeric_names_ = [str(c) for c in self.numeric_columns_] + [
            f"{column}={category}"
            for column in self.categorical_columns_
            for category in self.categories_[column]
        ]
        self._fit_vocabulary(frame)
        self._fit_images(frame)
        return self

    @staticmethod
    def _analyzer():
        return CountVectorizer().build_analyzer()

    def _fit_vocabulary(self, frame):
        analyze = self._analyzer()
        counts, rows = Counter(), Counter()
        texts = frame[self.text_columns_].fillna("").astype(str).to_numpy()
        for values in texts:
            tokens = [t for text in values for t in analyze(text)]
            counts.update(tokens)
            rows.update(set(tokens))
        frequent = [(t, c) for t, c in counts.items() if rows[t] >= self.min_df]
        kept = sorted(frequent, key=lambda kv: (-kv[1], kv[0]))[: self.vocab_size]
        self.vocabulary_ = {token: n + 2 for n, (token, _) in enumerate(kept)}
        self.tokens_ = np.array(["<pad>", "<oov>", *(t for t, _ in kept)], dtype=object)

    def _fit_images(self, frame):
        self.image_shape_ = None
        if not self.image_columns_:
            return
        stacked = self._stack_images(frame)
        self.image_shape_ = stacked.shape[1:]
        self.image_means_ = stacked.mean(axis=(0, 2, 3), keepdims=True)[0]
        std = stacked.std(axis=(0, 2, 3), keepdims=True)[0]
        self.image_scales_ = np.where(std > 0, std, 1.0)

    def _stack_images(self, frame) -> np.ndarray:
        channels = []
        for column in self.image_columns_:
            values = frame[column].to_numpy()
            shapes = {np.shape(v) for v in values}
            if len(shapes) != 1 or len(next(iter(shapes))) != 3:
                raise ValueError(
                    f"Image column {column!r} of {self.name} holds arrays of shapes "
                    f"{sorted(shapes)[:3]}; every image must have the same (C, H, W)."
                )
            stacked = np.stack(values).astype(np.float32)
            if not np.isfinite(stacked).all():
                raise ValueError(
                    f"Image column {column!r} of {self.name} contains NaN or inf."
                )
            channels.append(stacked)
        return np.concatenate(channels, axis=1)

    def _encode_text(self, frame) -> np.ndarray:
        analyze = self._analyzer()
        out = np.zeros((len(frame), self.max_length), dtype=np.int64)
        texts = frame[self.text_columns_].fillna("").astype(str).to_numpy()
        for row, values in enumerate(texts):
            tokens = [t for text in values for t in analyze(text)]
            ids = [self.vocabulary_.get(t, OOV) for t in tokens[: self.max_length]]
            out[row, : len(ids)] = ids
        return out

    def transform(self, frame: pd.DataFrame) -> EncodedFeatures:
        """Encode ``frame`` (same columns as in ``fit``) row by row."""
        missing = [
            c
            for c in (
                *self.numeric_columns_,
                *self.categorical_columns_,
                *self.text_columns_,
                *self.image_columns_,
            )
            if c not in frame.columns
        ]
        if missing:
            raise ValueError(
                f"{self.name} lacks the columns {missing} seen in fit; pass the same "
                "columns."
            )
        numeric = None
        if self.numeric_names_:
            parts = []
            if self.numeric_columns_:
                values = frame[self.numeric_columns_].astype(np.float64).to_numpy()
                values = np.where(np.isnan(values), self.means_, values)
                parts.append((values - self.means_) / self.scales_)
            for column in self.categorical_columns_:
                codes = pd.Categorical(
                    frame[column], categories=self.categories_[column]
                ).codes
                one_hot = np.zeros((len(frame), len(self.categories_[column])))
                known = codes >= 0
                one_hot[np.flatnonzero(known), codes[known]] = 1.0
                parts.append(one_hot)
            numeric = np.concatenate(parts, axis=1).astype(np.float32)
        text = self._encode_text(frame) if self.text_columns_ else None
        images = None
        if self.image_columns_:
            images = self._stack_images(frame) - self.image_means_
            images = (images / self.image_scales_).astype(np.float32)
        return EncodedFeatures(numeric, text, images)
