"""skorch callbacks for the neural recommenders."""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.callbacks import Callback

from .data import Interactions
from .metrics import get_scorer
from .metrics._scorer import RankingScorer
from .utils import _device

__all__ = ["FiniteLossGuard", "RankingScoring", "TrainingDivergedError"]


class RankingScoring(Callback):
    """Score a full-catalog ranking metric on the validation rows each epoch.

    The model ranks its whole catalog for every validation user (training
    items excluded) and the held-out rows are the relevant items, as the
    scorers of :mod:`sk_recsys.metrics` do. The value is recorded in the
    history under ``name`` with a ``<name>_best`` flag, so skorch's
    ``EarlyStopping(monitor=name, lower_is_better=False)``,
    ``Checkpoint(monitor=name + "_best")`` and ``LRScheduler`` can use it.
    It needs validation rows: set ``train_split=UserHoldout(...)``.

    Parameters
    ----------
    scoring : str, default="ndcg@10"
        A ranking scorer name of :func:`sk_recsys.metrics.get_scorer`
        (``"precision@K"``, ``"recall@K"``, ``"ndcg@K"``, ``"auc"``...).
    name : str, default=None
        History key; ``"valid_" + scoring`` when None.
    lower_is_better : bool, default=False
        Direction used for the ``_best`` flag.

    Examples
    --------
    >>> from skorch.callbacks import EarlyStopping
    >>> from sk_recsys.callbacks import RankingScoring
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.model_selection import UserHoldout
    >>> from sk_recsys.models import MatrixFactorization
    >>> X, _ = make_interactions(200, 100, random_state=0, return_X_y=True)
    >>> model = MatrixFactorization(
    ...     n_factors=16, max_epochs=30, lr=0.01, random_state=0,
    ...     train_split=UserHoldout(0.1, random_state=0),
    ...     callbacks=[RankingScoring("ndcg@10"),
    ...                EarlyStopping(monitor="valid_ndcg@10", lower_is_better=False,
    ...                              patience=3)],
    ... ).fit(X)
    >>> 0 < model.history[-1, "valid_ndcg@10"] <= 1
    True
    """

    def __init__(self, scoring="ndcg@10", name=None, lower_is_better=False):
        self.scoring = scoring
        self.name = name
        self.lower_is_better = lower_is_better

    def initialize(self):
        scorer = get_scorer(self.scoring)
        if not isinstance(scorer, RankingScorer):
            raise ValueError(
                f"RankingScoring needs a ranking scorer such as 'ndcg@10', got "
                f"{self.scoring!r}."
            )
        self.scorer_ = scorer
        self.name_ = self.name or f"valid_{self.scoring}"
        self.best_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if getattr(net, "train_split", None) is None:
            raise ValueError(
                "RankingScoring scores the validation rows, but train_split is "
                "None; set train_split=sk_recsys.model_selection.UserHoldout(0.1)."
            )
        # Continue from the best of an earlier fit when training goes on.
        previous = [row[self.name_] for row in net.history if self.name_ in row]
        self.best_ = None
        if previous:
            self.best_ = min(previous) if self.lower_is_better else max(previous)

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None or len(dataset_valid) == 0:
            return
        y = None if dataset_valid.y is None else dataset_valid.y.cpu().numpy()
        rows = Interactions(
            np.asarray(net.users_)[dataset_valid.users.cpu().numpy()],
            np.asarray(net.items_)[dataset_valid.items.cpu().numpy()],
            None if y is None else y.astype(np.float64),
            2,
        )
        score = self.scorer_.evaluate(net, rows)
        is_best = self.best_ is None or (
            score < self.best_ if self.lower_is_better else score > self.best_
        )
        if is_best:
            self.best_ = score
        net.history.record(self.name_, score)
        net.history.record(self.name_ + "_best", bool(is_best))


class TrainingDivergedError(ValueError):
    """Training stopped because the loss or the parameters became NaN or inf.

    The model keeps the parameters it had before the failing epoch, so it
    still scores finitely; lower ``lr`` and fit again.
    """


class FiniteLossGuard(Callback):
    """Stop training, with the last good parameters, when it diverges.

    Every neural recommender has this callback by default (name
    ``"finite_loss_guard"``). At the start of each epoch it copies the
    module's ``state_dict``; when a training batch has a NaN or infinite
    loss (checked at once on the CPU; on an accelerator at the end of the
    epoch, with all its batches' losses in one transfer, so that the host
    need not wait for the device at each step), or at the end of an epoch
    the parameters, or the loss of the last batch recomputed with them, are
    not all finite, it
    restores that copy, starts the optimizer afresh and raises
    :class:`TrainingDivergedError` naming the learning rate. Turn it off
    with ``callbacks__finite_loss_guard=None`` (it costs one copy of the
    parameters).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_recsys.callbacks import TrainingDivergedError
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import MatrixFactorization
    >>> X, y = make_interactions(50, 40, random_state=0, return_X_y=True)
    >>> model = MatrixFactorization(lr=1e30, max_epochs=3, random_state=0)
    >>> try:
    ...     model.fit(X, y)
    ... except TrainingDivergedError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    MatrixFactorization diverged at epoch ...; lr=1e+30 is likely too high, lower it ...
    >>> bool(np.isfinite(model.predict(X)).all())
    True
    """

    def on_epoch_begin(self, net, **kwargs):
        self.snapshot_ = {
            name: value.detach().clone()
            for name, value in net.module_.state_dict().items()
        }
        self.device_losses_ = []

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training and loss is not None:
            self.last_batch_ = batch
            loss = loss.detach()
            if _device.asynchronous(loss.device):
                # Read at the end of the epoch: reading it now would make the
                # host wait for the device at every step.
                self.__dict__.setdefault("device_losses_", []).append(loss)
                return
            value = float(loss)
            if not math.isfinite(value):
                self._stop(net, f"the training loss became {value}")

    def on_epoch_end(self, net, **kwargs):
        losses = self.__dict__.pop("device_losses_", [])
        if losses:
            losses = torch.stack(losses)
            bad = torch.nonzero(~torch.isfinite(losses))
            if len(bad):
                value = float(losses[bad[0, 0]])
                self._stop(net, f"the training loss became {value}")
        parameters = [p.detach() for p in net.module_.parameters()]
        if parameters and not bool(
            torch.stack([torch.isfinite(p).all() for p in parameters]).all()
        ):
            self._stop(net, "some parameters became NaN or inf")
        # The last step may have left finite but huge parameters whose scores
        # overflow: the loss of the last batch under them must be finite too.
        batch = self.__dict__.pop("last_batch_", None)
        if batch is not None:
            value = float(net.validation_step(batch)["loss"])
            if not math.isfinite(value):
                self._stop(net, f"the loss after the last step became {value}")

    def _stop(self, net, what: str):
        net.module_.load_state_dict(self.snapshot_)
        net.initialize_optimizer()
        epoch = len(net.history)
        raise TrainingDivergedError(
            f"{type(net).__name__} diverged at epoch {epoch}: {what}; "
            f"lr={net.lr!r} is likely too high, lower it (e.g. lr={net.lr / 10:g}) "
            "and fit again (the parameters from before that epoch were kept)."
        )
