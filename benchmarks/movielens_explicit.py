"""MovieLens-100K u1..u5: RMSE and MAE of MatrixFactorization(loss="mse").

Each official fold trains on ``uN.base`` and predicts ``uN.test``; Surprise's
``SVD`` (default settings) runs on the same folds in the same script, for the
fit times. MatrixFactorization uses its defaults (64 factors, l2 "auto" =
0.1, Adam lr 3e-3, 30 epochs, batch 1024), chosen on a coarse search on fold
u1. Run: ``python benchmarks/movielens_explicit.py`` (needs $SK_RECSYS_DATA;
``pip install scikit-surprise`` for the peer).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _common import data_home, write_result

from sk_recsys.datasets import load_movielens
from sk_recsys.metrics import mae, rmse
from sk_recsys.models import MatrixFactorization

FOLDS = ("u1", "u2", "u3", "u4", "u5")


def _surprise(X_train, y_train, X_test):
    try:
        from surprise import SVD, Dataset, Reader
    except ImportError:
        return None
    frame = pd.DataFrame(
        {"u": X_train["user_id"], "i": X_train["item_id"], "r": y_train}
    )
    trainset = Dataset.load_from_df(
        frame, Reader(rating_scale=(1, 5))
    ).build_full_trainset()
    model = SVD(random_state=0)
    start = time.perf_counter()
    model.fit(trainset)
    fit_s = time.perf_counter() - start
    predictions = np.array(
        [
            model.predict(u, i).est
            for u, i in zip(X_test["user_id"], X_test["item_id"], strict=True)
        ]
    )
    return predictions, fit_s


def main():
    rows = []
    for fold in FOLDS:
        X_train, X_test, y_train, y_test = load_movielens(
            "100k", split=fold, data_home=data_home(), return_X_y=True
        )
        model = MatrixFactorization(loss="mse", random_state=0)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_s = time.perf_counter() - start
        predictions = model.predict(X_test)
        rows.append(
            {
                "fold": fold,
                "model": "sk_recsys MatrixFactorization(loss='mse')",
                "rmse": rmse(y_test, predictions),
                "mae": mae(y_test, predictions),
                "fit_s": fit_s,
            }
        )
        peer = _surprise(X_train, y_train, X_test)
        if peer is not None:
            rows.append(
                {
                    "fold": fold,
                    "model": "Surprise SVD()",
                    "rmse": rmse(y_test, peer[0]),
                    "mae": mae(y_test, peer[0]),
                    "fit_s": peer[1],
                }
            )
        for row in rows[-2:]:
            print(
                f"{row['fold']} {row['model']:<45} RMSE {row['rmse']:.4f} "
                f"MAE {row['mae']:.4f} fit {row['fit_s']:.2f} s",
                flush=True,
            )
    for name in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == name]
        mean = {
            key: float(np.mean([row[key] for row in mine]))
            for key in ("rmse", "mae", "fit_s")
        }
        rows.append({"fold": "mean", "model": name, **mean})
        print(
            f"mean {name:<45} RMSE {mean['rmse']:.4f} MAE {mean['mae']:.4f} "
            f"fit {mean['fit_s']:.2f} s"
        )
    path = write_result(
        "movielens100k_explicit",
        {
            "title": "MovieLens-100K official folds u1..u5: rating prediction",
            "protocol": (
                "train uN.base, predict uN.test; predictions clipped to [1, 5]; "
                "MatrixFactorization defaults (64 factors, l2=0.1, Adam lr 3e-3, 30 "
                "epochs, batch 1024, random_state=0); Surprise SVD() defaults"
            ),
            "columns": ["fold", "model", "rmse", "mae", "fit_s"],
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
