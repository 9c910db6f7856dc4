"""PyTorch modules and losses of the neural recommenders (torch only).

Each model module exposes ``forward(users, items)`` (scores of index pairs,
broadcasting) and ``score_all(users)`` (scores of every item), which the
estimators in :mod:`sk_recsys.models` train through skorch and rank with.
"""

from ._dmf import DeepMFModule, gather_rows
from ._losses import (
    BPRLoss,
    NormalizedCrossEntropyLoss,
    RatingMSELoss,
    SampledBCELoss,
    SampledSoftmaxLoss,
    ScoredBatch,
)
from ._mf import MatrixFactorizationModule
from ._neumf import NeuMFModule

__all__ = [
    "BPRLoss",
    "DeepMFModule",
    "MatrixFactorizationModule",
    "NeuMFModule",
    "NormalizedCrossEntropyLoss",
    "RatingMSELoss",
    "SampledBCELoss",
    "SampledSoftmaxLoss",
    "ScoredBatch",
    "gather_rows",
]
