"""Cross-validation splitters and a train/test split for interaction data.

:class:`UserKFold` spreads each user's rows over k folds, :class:`LeaveLastOut`
holds out each user's latest rows, :class:`TemporalSplit` cuts all rows at one
point in time, and :func:`train_test_split` makes one split by any of these
rules. The splitters follow the scikit-learn protocol and work as ``cv=`` in
``GridSearchCV`` and ``cross_validate``. :class:`UserHoldout` is the
validation split of the neural models (their ``train_split``);
:class:`ColdItemSplit` holds out whole items for new-item cold start.
"""

from ._split import (
    ColdItemSplit,
    LeaveLastOut,
    TemporalSplit,
    UserHoldout,
    UserKFold,
    train_test_split,
)

__all__ = [
    "ColdItemSplit",
    "LeaveLastOut",
    "TemporalSplit",
    "UserHoldout",
    "UserKFold",
    "train_test_split",
]
