"""PyTorch modules and losses of the neural recommenders (torch only).

Each model module exposes ``forward(users, items)`` (scores of index pairs,
broadcasting) and ``score_all(users)`` (scores of every item), which the
estimators in :mod:`sk_recsys.models` train through skorch and rank with;
the modules of sequential models follow :class:`SequenceModule` instead
(hidden states of item sequences, and the item vectors they are scored
against), and :class:`MultVAEModule` reads whole user rows
(``forward(rows)``, ``score_rows(rows)``).
"""

from ._content import ContentEncoder, ImageCNN, TextCNN, TextGRU
from ._content_models import ContentModule, HybridModule, MultiTaskModule
from ._dmf import DeepMFModule, gather_rows
from ._fold_in import fold_in, history_contributions
from ._gru4rec import GRU4RecModule
from ._hstu import HSTUModule
from ._lightgcn import LightGCNModule, normalized_adjacency
from ._losses import (
    BPRLoss,
    CatalogScores,
    FullSoftmaxLoss,
    GeneralizedBCELoss,
    MultiTaskLoss,
    NormalizedCrossEntropyLoss,
    RatingMSELoss,
    SampledBCELoss,
    SampledSoftmaxLoss,
    ScoredBatch,
    linear_cross_entropy,
)
from ._mf import MatrixFactorizationModule
from ._multvae import MultVAELoss, MultVAEModule
from ._neumf import NeuMFModule
from ._sasrec import PositionalSequenceModule, SASRecModule, SequenceModule
from ._variational import VariationalMF

__all__ = [
    "BPRLoss",
    "CatalogScores",
    "ContentEncoder",
    "ContentModule",
    "DeepMFModule",
    "FullSoftmaxLoss",
    "GRU4RecModule",
    "GeneralizedBCELoss",
    "HSTUModule",
    "HybridModule",
    "ImageCNN",
    "LightGCNModule",
    "MatrixFactorizationModule",
    "MultVAELoss",
    "MultVAEModule",
    "MultiTaskLoss",
    "MultiTaskModule",
    "NeuMFModule",
    "NormalizedCrossEntropyLoss",
    "PositionalSequenceModule",
    "RatingMSELoss",
    "SASRecModule",
    "SampledBCELoss",
    "SampledSoftmaxLoss",
    "ScoredBatch",
    "SequenceModule",
    "TextCNN",
    "TextGRU",
    "VariationalMF",
    "fold_in",
    "gather_rows",
    "history_contributions",
    "linear_cross_entropy",
    "normalized_adjacency",
]
