"""Hyperparameters of the sequential models, chosen on validation, never on test.

For each leave-last-out dataset of the suite (``ml100k-loo``,
``ml1m-subset-loo``), the validation fold takes each user's latest
*training* row (:func:`suite.validation_fold`, the second-to-last item of
the full sequence); the test item is never read. Every configuration of
``GRIDS`` is fitted on the rest of the training rows for ``--max-epochs``
epochs, and its validation NDCG@10 (our scorer: full catalog, training
items excluded) is recorded every ``--every`` epochs. The best
(configuration, number of epochs) per model is the one the suite's
``sasrec`` / ``gru4rec`` / ``hstu`` entries use (``tuned = "sequential_selection"``).
Results go to ``results/sequential_selection_<dataset>.json``; a rerun
skips the configurations already measured on this machine (see
:mod:`benchmarks.selection`).

Run: ``python -m benchmarks.sequential_selection --datasets ml100k-loo
[--models sasrec gru4rec hstu] [--max-epochs 100] [--every 5] [--first N]
[--configs I ...]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import selection

# Each entry: the parameters that differ from the model's defaults. Every
# configuration reads up to 200 items (all of a MovieLens-100K user's
# history, most of an ML-1M user's) unless it says otherwise.
GRIDS = {
    "sasrec": [
        {"loss": "softmax", "n_negatives": None},
        {"loss": "gbce", "n_negatives": 256, "gbce_t": 0.75},
        {"loss": "bce"},
        {"loss": "softmax", "n_negatives": None, "dropout": 0.5},
        {"loss": "softmax", "n_negatives": 256},
        {"loss": "softmax", "n_negatives": None, "dropout": 0.5, "n_factors": 128},
        # every next item of the whole history, not only the last window's
        {"loss": "softmax", "n_negatives": None, "train_windows": "all"},
        # RecBole's context length (50) with whole-sequence windows: what
        # lifted GRU4Rec (gru4rec config 4) tried on SASRec
        {
            "loss": "softmax",
            "n_negatives": None,
            "train_windows": "all",
            "max_len": 50,
        },
    ],
    "hstu": [
        {"loss": "softmax", "n_negatives": None},
        {"loss": "softmax", "n_negatives": None, "dropout": 0.5},
        {"loss": "softmax", "n_negatives": None, "lr": 0.003},
        {"loss": "softmax", "n_negatives": None, "lr": 0.003, "n_blocks": 4},
        # the authors' "HSTU-large" depth for ML-1M: 8 blocks, 2 heads
        {
            "loss": "softmax",
            "n_negatives": None,
            "lr": 0.003,
            "n_blocks": 8,
            "n_heads": 2,
        },
    ],
    "gru4rec": [
        {"loss": "softmax", "n_negatives": None},
        {"loss": "softmax", "n_negatives": None, "dropout": 0.5},
        {"loss": "softmax", "n_negatives": None, "dropout": 0.5, "n_factors": 128},
        # every next item of the whole history, not only the last window's
        {
            "loss": "softmax",
            "n_negatives": None,
            "dropout": 0.5,
            "train_windows": "all",
        },
        # RecBole's context length (50): the same targets cut into 2.6 times
        # as many windows (ML-1M subset), so as many more optimiser steps
        {
            "loss": "softmax",
            "n_negatives": None,
            "dropout": 0.5,
            "train_windows": "all",
            "max_len": 50,
        },
    ],
}
BASE = {"max_len": 200, "random_state": 0}


def main(argv=None):
    selection.main(
        "sequential_selection",
        GRIDS,
        __doc__,
        argv,
        base={model: BASE for model in GRIDS},
        max_epochs=100,
        every=5,
    )


if __name__ == "__main__":
    main()
