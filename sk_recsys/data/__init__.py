"""Interaction data: validation, id encoding and the user-item matrix.

Every estimator reads its input through :func:`check_interactions` (column 0
user ids, column 1 item ids, further columns context), encodes raw ids with
:func:`encode_ids` and keeps the training interactions as the CSR matrix of
:func:`interaction_matrix`. Neural models train on an
:class:`InteractionDataset` batched by :class:`SliceIterator`, with
negatives from :class:`NegativeSampler`; sequential models on the padded
windows of a :class:`SequenceDataset` (:func:`build_sequences`,
:func:`padded_tails`), batched by :class:`SequenceIterator`.
"""

from ._batching import (
    InteractionDataset,
    KeyedPermutation,
    NegativeSampler,
    SliceIterator,
)
from ._encoding import (
    encode_ids,
    interaction_matrix,
    lookup_ids,
    mask_entries,
    matrix_rows,
)
from ._features import EncodedFeatures, FeatureEncoder
from ._sequences import (
    SequenceDataset,
    SequenceIterator,
    build_sequences,
    extend_tails,
    padded_tails,
)
from ._validation import (
    Interactions,
    check_features,
    check_ids,
    check_interactions,
    get_column,
)

__all__ = [
    "EncodedFeatures",
    "FeatureEncoder",
    "InteractionDataset",
    "Interactions",
    "KeyedPermutation",
    "NegativeSampler",
    "SequenceDataset",
    "SequenceIterator",
    "SliceIterator",
    "build_sequences",
    "check_features",
    "check_ids",
    "check_interactions",
    "encode_ids",
    "extend_tails",
    "get_column",
    "interaction_matrix",
    "lookup_ids",
    "mask_entries",
    "matrix_rows",
    "padded_tails",
]
