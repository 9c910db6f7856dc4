"""Choose MatrixFactorization(solver="variational")'s n_factors and epochs.

On MovieLens-100K ``u1.base`` only: a random 10% of its ratings (numpy
``default_rng(0)``) is held out, every (n_factors, max_epochs) pair of the
grid is fitted on the rest and scored by RMSE on the held-out ratings
(predictions clipped to 1-5, as ``predict`` does). The official test folds
are never read. The benchmark suite's ``mf-mse-vb`` entry uses the best pair.

Writes ``results/rating_selection_u1.json``. Example::

    python benchmarks/rating_selection.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import data_home, write_result

from sk_recsys.datasets import load_movielens
from sk_recsys.metrics import rmse
from sk_recsys.models import MatrixFactorization


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--epochs", type=int, nargs="+", default=[10, 20, 40])
    args = parser.parse_args(argv)
    X, _, y, _ = load_movielens(
        "100k", split="u1", data_home=data_home(), return_X_y=True
    )
    order = np.random.default_rng(0).permutation(len(y))
    held = order[: round(0.1 * len(y))]
    kept = order[round(0.1 * len(y)) :]
    rows = []
    for n_factors in args.factors:
        for max_epochs in args.epochs:
            began = time.perf_counter()
            model = MatrixFactorization(
                n_factors=n_factors,
                loss="mse",
                solver="variational",
                max_epochs=max_epochs,
                random_state=0,
            ).fit(X.iloc[kept], y[kept])
            seconds = time.perf_counter() - began
            score = rmse(y[held], model.predict(X.iloc[held]))
            rows.append(
                {
                    "n_factors": n_factors,
                    "max_epochs": max_epochs,
                    "inner_rmse": score,
                    "fit_s": seconds,
                }
            )
            print(
                f"n_factors {n_factors:3d} epochs {max_epochs:3d}: "
                f"RMSE {score:.4f} ({seconds:.1f} s)",
                flush=True,
            )
    best = min(rows, key=lambda row: row["inner_rmse"])
    print("best:", best)
    write_result(
        "rating_selection_u1",
        {
            "kind": "selection",
            "title": "MatrixFactorization(solver='variational'): inner split of "
            "MovieLens-100K u1.base",
            "protocol": "90/10 random split of u1.base's ratings "
            "(default_rng(0)); RMSE on the held-out 10%; the test folds unread",
            "columns": ["n_factors", "max_epochs", "inner_rmse", "fit_s"],
            "rows": rows,
            "best": best,
        },
    )


if __name__ == "__main__":
    main()
