"""SequentialRecommender: the skorch base of the next-item models.

A sequential model reads each user's rows as a sequence ordered by the time
column and learns to predict each next item from the items before it. This
base builds the sequences, trains on padded windows of them (batched by
slicing prebuilt tensors on the device, negatives drawn on the device),
and serves the recommender contract from the latest window of each user,
extended by an ordered ``history=``. The modules (:mod:`sk_recsys.nn`)
follow :class:`~sk_recsys.nn.SequenceModule`. See ``docs/sequential.rst``
for the contract.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import explanation_frame
from ..data import (
    SequenceDataset,
    SequenceIterator,
    build_sequences,
    extend_tails,
    padded_tails,
)
from ..model_selection._split import _check_time_column, _time_ranks
from ..nn import (
    CatalogScores,
    FullSoftmaxLoss,
    GeneralizedBCELoss,
    SampledBCELoss,
    SampledSoftmaxLoss,
    ScoredBatch,
)
from ..utils import resolve_device
from ._neural import NeuralRecommender

__all__ = ["SequentialRecommender", "is_sequential"]

# scikit-learn checks whose generated X has no user with two rows.
_SKLEARN_NO_PAIRS = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_pipeline_consistency",
)
# ... and those whose X has two columns only.
_SKLEARN_NO_TIME = (
    "check_estimators_fit_returns_self",
    "check_estimators_overwrite_params",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_n_features_in",
    "check_readonly_memmap_input",
)

# Score given to a sampled negative that is the target itself: it then adds
# nothing to the loss (finite, so that 0 * score stays 0 in the log loss).
_MASKED = -1e9


def is_sequential(estimator) -> bool:
    """Whether ``estimator`` follows the sequence contract.

    A sequential model is one with a ``time_column`` parameter: it orders
    each user's rows by that column and reads ``history=`` in order. A
    composite (e.g. :class:`~sk_recsys.compose.CandidateRanker`) answers
    with a ``_reads_order()`` method: whether one of its members is
    sequential. The
    conformance kit then checks that order matters
    (:func:`~sk_recsys.utils.estimator_checks.check_sequence_order`).

    Examples
    --------
    >>> from sk_recsys.models import EASE, SASRec
    >>> from sk_recsys.models._sequential import is_sequential
    >>> is_sequential(SASRec()), is_sequential(EASE())
    (True, False)
    """
    reads_order = getattr(estimator, "_reads_order", None)
    if callable(reads_order):  # a composite: sequential when a member is
        return bool(reads_order())
    get_params = getattr(estimator, "get_params", None)
    return callable(get_params) and "time_column" in get_params(deep=False)


class SequentialRecommender(NeuralRecommender):
    """Base class of the next-item models (SASRec, GRU4Rec), trained through skorch.

    Each user's rows are sorted by ``time_column`` (ties keep row order) into
    a sequence; training reads each user's last ``max_len + 1`` items (or
    the whole sequence, ``train_windows="all"``), the model predicts every
    item from the ones before it. ``recommend`` and
    ``score_items`` score the catalog after the user's latest ``max_len``
    items; an ordered ``history`` extends that sequence for a known user
    and *is* the sequence of an unknown user or an anonymous session.

    Subclasses implement ``_module_params()`` (their module follows
    :class:`~sk_recsys.nn.SequenceModule`) and name their hyperparameters in
    ``__init__``, passing the sequence parameters below up.

    Parameters
    ----------
    module : type of SequenceModule
    max_len : int, default=50
        Items of a user's sequence the model reads (the latest ones).
    loss : {"softmax", "gbce", "bce"}, default="softmax"
        ``"softmax"``: cross-entropy of the next item against
        ``n_negatives`` items sampled uniformly for the batch (the full
        catalog when ``n_negatives`` is None or covers it); ``"gbce"``:
        generalised BCE (:class:`~sk_recsys.nn.GeneralizedBCELoss`) against
        ``n_negatives`` items drawn uniformly for each position, as gSASRec
        draws them, calibrated by ``gbce_t``; ``"bce"``: the log loss
        against one negative drawn per position (the original SASRec).
    n_negatives : int or None, default=None
        Negatives shared by a batch's positions (``"softmax"``) or drawn
        per position (``"gbce"``); a sampled item that is the target is
        masked. None: every other item of the catalog, whose scores a
        training step then holds for every position of the batch
        (``batch_size * max_len * n_items`` floats, 1.8 GB at 128 x 200 x
        18,000): for catalogs of tens of thousands of items sample a few
        hundred with ``"softmax"``. ``"gbce"`` reads its per-position
        negatives from those scores too, so its step holds as much.
    gbce_t : float, default=0.75
        Calibration of ``"gbce"``, in [0, 1].
    time_column : int, str or None, default=2
        Column of ``X`` ordering each user's rows: a position, a DataFrame
        column name, or None for row order. Numbers, datetimes and ISO-8601
        strings; ties keep row order.
    train_windows : {"last", "all"}, default="last"
        What an epoch trains on. ``"last"``: each user's last ``max_len +
        1`` items, one window a user (the original SASRec's sampling), so
        the older items of a longer history are never a target. ``"all"``:
        every next item of every sequence once, a long sequence cut from
        its end into windows of ``max_len`` targets, each predicted from
        the items before it within its window. Scoring always reads the
        latest ``max_len`` items.
    **kwargs
        Every :class:`NeuralRecommender` / skorch parameter.
    """

    _family = "sequential"

    _skorch_defaults = {
        "max_epochs": 50,
        "batch_size": 128,
        "iterator_train": SequenceIterator,
    }

    _parameter_constraints = {
        "max_len": [Interval(numbers.Integral, 1, None, closed="left")],
        "loss": [StrOptions({"softmax", "gbce", "bce"})],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "gbce_t": [Interval(numbers.Real, 0, 1, closed="both")],
        "train_windows": [StrOptions({"last", "all"})],
    }

    def __init__(
        self,
        module,
        *,
        max_len=50,
        loss="softmax",
        n_negatives=None,
        gbce_t=0.75,
        time_column=2,
        train_windows="last",
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.max_len = max_len
        self.loss = loss
        self.n_negatives = n_negatives
        self.gbce_t = gbce_t
        self.time_column = time_column
        self.train_windows = train_windows

    # ------------------------------------------------------------- fitting

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        _check_time_column(self.time_column)
        if self.train_split is not None:
            raise ValueError(
                f"{type(self).__name__} trains on whole sequences: train_split "
                "must be None; hold out each user's last items with "
                "sk_recsys.model_selection.LeaveLastOut and score them instead."
            )

    def _n_negatives(self) -> int:
        # Negatives are drawn per batch by _forward_batch, not per row by the
        # base's NegativeSampler.
        return 0

    def _fit_interactions(self, X, y=None, **kwargs):
        data = super()._fit_interactions(X, y, **kwargs)
        times = _time_ranks(X, self.time_column, len(data.users), strict=True)
        return data._replace(times=times)

    def _configure(self, data, **features):
        if not (np.bincount(data.users) >= 2).any():
            raise ValueError(
                f"{type(self).__name__} learns which item follows which, but no "
                "user has two rows; pass users with at least two interactions."
            )
        self._set_sequences(
            *build_sequences(data.users, data.items, data.times, self.n_users_)
        )

    def _set_sequences(self, indptr, items) -> None:
        """Store the sequences and each user's latest window for scoring."""
        self.sequence_indptr_ = indptr
        self.sequence_items_ = items
        lengths = np.diff(indptr)
        self._tails_ = torch.as_tensor(
            padded_tails(items, indptr[1:], lengths, self.max_len, self.n_items_),
            device=resolve_device(self.device),
        )

    def _training_windows(self, users, device) -> SequenceDataset:
        """The windows of the sequences of ``users`` (see ``train_windows``)."""
        return SequenceDataset.from_sequences(
            self.sequence_indptr_,
            self.sequence_items_,
            users,
            self.max_len,
            self.n_items_,
            device=device,
            whole=self.train_windows == "all",
        )

    def _datasets(self, data, device):
        return self._training_windows(np.arange(self.n_users_), device), None, None

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Append new rows to the users' sequences and train on those users.

        The new rows of each user, ordered by ``time_column``, follow the
        user's training sequence; the model then takes ``max_epochs`` more
        epochs over the sequences of the users that got rows. Users or
        items not seen in ``fit`` would need new embedding rows: refit for
        them. An unfitted model is simply fitted.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
        y : array-like of shape (n_interactions,), default=None
        classes : ignored
            Exists for scikit-learn compatibility.

        Returns
        -------
        self
        """
        return super().partial_fit(X, y, classes, **fit_params)

    def _partial_dataset(self, X, rows, users, items):
        times = _time_ranks(X, self.time_column, len(users), strict=True)
        old_users = np.repeat(np.arange(self.n_users_), np.diff(self.sequence_indptr_))
        # Old items keep their positions; new ones follow, by time.
        order = np.concatenate(
            [np.arange(len(old_users)), len(old_users) + times.astype(np.int64)]
        )
        self._set_sequences(
            *build_sequences(
                np.concatenate([old_users, users]),
                np.concatenate([self.sequence_items_, items]),
                order,
                self.n_users_,
            )
        )
        return self._training_windows(np.unique(users), resolve_device(self.device))

    def _expected_failed_checks(self) -> dict:
        """scikit-learn checks a sequential model cannot pass, with why.

        scikit-learn's generated data give every row its own float "user"
        and, in some checks, only two columns: no user has two rows to
        learn an order from, and there is no time column.
        """
        no_pairs = (
            "scikit-learn's generated X gives every row its own user id, so no "
            "user has two interactions: a sequential model refuses to fit on "
            "data with no item following another."
        )
        no_time = (
            "scikit-learn passes a two-column X here: a sequential model needs "
            "the time column (time_column=2) or time_column=None."
        )
        return {
            **super()._expected_failed_checks(),
            **dict.fromkeys(_SKLEARN_NO_PAIRS, no_pairs),
            **dict.fromkeys(_SKLEARN_NO_TIME, no_time),
        }

    # ------------------------------------------------------------ training

    def _full_catalog(self) -> bool:
        """Whether the negatives are every other item (none sampled)."""
        return self.n_negatives is None or self.n_negatives >= self.n_items_ - 1

    def _default_criterion(self):
        if self.loss == "bce":
            return SampledBCELoss()
        if self.loss == "softmax":
            return FullSoftmaxLoss() if self._full_catalog() else SampledSoftmaxLoss()
        n_negatives = self.n_items_ - 1
        if self.n_negatives is not None:
            n_negatives = min(self.n_negatives, n_negatives)
        return GeneralizedBCELoss.from_sampling(n_negatives, self.n_items_, self.gbce_t)

    def _forward_batch(self, Xi, yi=None) -> ScoredBatch:
        users, inputs = Xi
        hidden = self.module_(inputs)
        real = yi != self.n_items_
        hidden, targets = hidden[real], yi[real]
        vectors = self.module_.item_vectors()
        positive = (hidden * vectors[targets]).sum(dim=-1)
        negatives = None
        if self.loss == "bce":
            negatives = torch.randint(
                self.n_items_, (len(targets), 1), device=targets.device
            )
            negative = (hidden[:, None] * vectors[negatives]).sum(dim=-1)
            negative = negative.masked_fill(negatives == targets[:, None], _MASKED)
        elif self.loss == "gbce" and not self._full_catalog():
            # gSASRec's sampling: every position draws its own negatives,
            # read from the catalog's scores (the full softmax's product).
            negatives = torch.randint(
                self.n_items_, (len(targets), self.n_negatives), device=targets.device
            )
            negative = (hidden @ vectors.T).gather(1, negatives)
            negative = negative.masked_fill(negatives == targets[:, None], _MASKED)
        elif not self._full_catalog():
            negatives = torch.randint(
                self.n_items_, (self.n_negatives,), device=targets.device
            )
            negative = hidden @ vectors[negatives].T
            hits = negatives[None, :] == targets[:, None]
            negative = negative.masked_fill(hits, _MASKED)
        elif self.loss == "softmax":
            # FullSoftmaxLoss reads every item's score, the target's included;
            # given the two factors it never holds the whole score matrix
            # (another criterion gets the matrix).
            negative = CatalogScores(hidden, vectors)
            if not isinstance(self.criterion_, FullSoftmaxLoss):
                negative = negative.dense()
        else:
            negative = (hidden @ vectors.T).scatter(1, targets[:, None], _MASKED)
        return ScoredBatch(positive, negative, users, targets, negatives)

    # ------------------------------------------------------------- scoring

    def _score_tails(self, tails: torch.Tensor) -> torch.Tensor:
        """Scores of every item after each left-padded window."""
        self._set_training(False)
        with torch.no_grad():
            hidden = self.module_(tails)[:, -1]
            return hidden @ self.module_.item_vectors().T

    def _score_users(self, users):
        return self._score_tails(self._tails_[torch.as_tensor(users).to(self.device)])

    def _item_vectors(self):
        return self.module_.item_vectors().detach()

    def _query_vectors(self, codes, history):
        """The encoder's state after each user's window (history included)."""
        windows = self._windows(codes, history)
        served = (windows != self.n_items_).any(dim=1)
        self._set_training(False)
        with torch.no_grad():
            hidden = self.module_(windows)[:, -1]
        return hidden, served.cpu().numpy()

    def _predict_pairs(self, users, items):
        return self._gather_pairs(users, items, self._score_users)

    def _windows(self, codes: np.ndarray, history=None) -> torch.Tensor:
        """Latest ``max_len`` items of each user, then their ``history``."""
        device = self._tails_.device
        known = torch.as_tensor(codes >= 0, device=device)
        index = torch.as_tensor(np.maximum(codes, 0), device=device)
        tails = torch.where(known[:, None], self._tails_[index], self.n_items_)
        if history is None:
            return tails
        lengths = history.lengths()
        more = padded_tails(
            history.items, history.indptr[1:], lengths, self.max_len, self.n_items_
        )
        return extend_tails(
            tails, torch.as_tensor(more, device=device), torch.as_tensor(lengths)
        )

    def _user_scores(self, codes, history=None):
        """Scores after each user's window; empty windows get popularity."""
        windows = self._windows(codes, history)
        scores = self._popularity_scores(len(codes), windows.device)
        has_items = (windows != self.n_items_).any(dim=1)
        if has_items.any():
            scores[has_items] = self._score_tails(windows[has_items]).to(scores.dtype)
        return scores

    def explain(self, user, item, n=10):
        """Which positions of the user's sequence drive the score of ``item``.

        Gradient x input: the weight of a position is the dot product of the
        score's gradient with respect to that position's input item
        embedding and the embedding itself, a first-order estimate of what
        the item there adds to the score (summed over positions it
        approximates the score's change from an all-zero input). Positions
        are counted back from the latest item (``-1``).

        Parameters
        ----------
        user : user id
        item : item id
        n : int, default=10
            Number of positions returned.

        Returns
        -------
        explanation : DataFrame
            Columns ``reason`` (the item at a position of the user's
            sequence) and ``weight``, largest first, indexed by
            ``position`` (-1 = latest). Empty for an unknown user or item.
        """
        u, i, n = self._explain_codes(user, item, n)
        if u < 0 or i < 0:
            return explanation_frame([], [], n).rename_axis("position")
        self._set_training(False)
        tails = self._tails_[[u]]
        padding = tails == self.n_items_
        embedded = self.module_.embed(tails).detach().requires_grad_(True)
        with torch.enable_grad():
            hidden = self.module_.encode(embedded, padding)[:, -1]
            score = (hidden[0] * self.module_.item_vectors()[i]).sum()
            (gradient,) = torch.autograd.grad(score, embedded)
        weights = (gradient * embedded).sum(dim=-1)[0].detach().cpu().numpy()
        window = tails[0].cpu().numpy()
        real = np.flatnonzero(window != self.n_items_)
        # Ranked by position, then each position's item put beside it.
        frame = explanation_frame(real - self.max_len, weights[real], n)
        position = frame.pop("reason").to_numpy()
        frame.insert(0, "reason", self.items_[window[position + self.max_len]])
        frame.index = pd.Index(position, name="position")
        return frame
