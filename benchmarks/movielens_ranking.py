"""MovieLens-100K ``ua``: full-catalog ranking of the neural models vs the baselines.

The suite's ranking protocol (``suite.py``: implicit ``ua.base``, all items
ranked for the 943 test users, training items excluded, the 10 ``ua.test``
items relevant). The number of epochs of each neural model is chosen
without looking at ``ua.test``: a ``UserHoldout(0.1)`` of ``ua.base``
validates NDCG@10 after every epoch (``RankingScoring`` + ``EarlyStopping``,
patience 5), then the model is refitted on all of ``ua.base`` for the best
number of epochs and scored once on ``ua.test``. Hyperparameters are listed
in the table.

Run: ``python benchmarks/movielens_ranking.py [--models mf-bpr mf-bce neumf dmf]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import data_home, write_result
from skorch.callbacks import EarlyStopping

from sk_recsys.callbacks import RankingScoring
from sk_recsys.datasets import load_movielens
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import UserHoldout
from sk_recsys.models import (
    EASE,
    DeepMF,
    ItemKNN,
    MatrixFactorization,
    NeuMF,
    Popularity,
    UserKNN,
)

NEURAL = {
    "mf-bpr": (MatrixFactorization, {"loss": "bpr", "n_factors": 128, "l2": 0.01}),
    "mf-bce": (
        MatrixFactorization,
        {"loss": "bce", "n_factors": 64, "l2": 0.005, "n_negatives": 8},
    ),
    "neumf": (NeuMF, {"n_factors": 32, "hidden": (64, 32, 16), "lr": 1e-3}),
    "dmf": (DeepMF, {"n_factors": 64, "hidden": (256,), "lr": 1e-3}),
}
METRICS = ("ndcg@10", "precision@10", "recall@10", "auc")


def score(model, X_test):
    """Every metric of METRICS for ``model`` on the held-out rows."""
    return {name: get_scorer(name)(model, X_test) for name in METRICS}


def best_epochs(cls, params, X_train, max_epochs, y=None, **fit_params):
    """Epochs at which NDCG@10 on a UserHoldout(0.1) of the training rows peaks."""
    probe = cls(
        **params,
        max_epochs=max_epochs,
        random_state=0,
        train_split=UserHoldout(0.1, random_state=0),
        callbacks=[
            RankingScoring("ndcg@10"),
            EarlyStopping(monitor="valid_ndcg@10", lower_is_better=False, patience=5),
        ],
    ).fit(X_train, y, **fit_params)
    scores = probe.history[:, "valid_ndcg@10"]
    return int(np.argmax(scores)) + 1, float(np.max(scores))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models", nargs="+", default=list(NEURAL), choices=list(NEURAL)
    )
    parser.add_argument("--max-epochs", type=int, default=100)
    args = parser.parse_args()
    X_train, X_test, _, _ = load_movielens(
        "100k", split="ua", data_home=data_home(), return_X_y=True
    )
    rows = []
    for model in (Popularity(), ItemKNN(), UserKNN(), EASE()):
        start = time.perf_counter()
        model.fit(X_train)
        rows.append(
            {
                "model": repr(model),
                "epochs": None,
                **score(model, X_test),
                "fit_s": time.perf_counter() - start,
            }
        )
        print(rows[-1], flush=True)
    for name in args.models:
        cls, params = NEURAL[name]
        epochs, valid = best_epochs(cls, params, X_train, args.max_epochs)
        model = cls(**params, max_epochs=epochs, random_state=0)
        start = time.perf_counter()
        model.fit(X_train)
        fit_s = time.perf_counter() - start
        rows.append(
            {
                "model": repr(model),
                "epochs": epochs,
                "valid_ndcg@10": valid,
                **score(model, X_test),
                "fit_s": fit_s,
            }
        )
        print(rows[-1], flush=True)
    path = write_result(
        "movielens100k_ua_ranking",
        {
            "title": (
                "MovieLens-100K ua, implicit, full catalog: neural models vs baselines"
            ),
            "protocol": (
                "train ua.base as implicit feedback; epochs of each neural model "
                "chosen by NDCG@10 on a UserHoldout(0.1) of ua.base (early stopping, "
                "patience 5), then refitted on all of ua.base; scored once on "
                "ua.test over all 1,682 items with training items excluded"
            ),
            "columns": ["model", "epochs", "valid_ndcg@10", *METRICS, "fit_s"],
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
