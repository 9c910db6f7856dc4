"""skorch callbacks for the neural recommenders."""

from __future__ import annotations

import numpy as np
from skorch.callbacks import Callback

from .data import Interactions
from .metrics import get_scorer
from .metrics._scorer import RankingScorer

__all__ = ["RankingScoring"]


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
