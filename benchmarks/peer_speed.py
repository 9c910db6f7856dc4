"""Fit time of 20 epochs of BPR matrix factorisation: sk_recsys vs implicit.

Same factors (64), same number of epochs (20), one negative per positive,
CPU, in one script run: ``implicit``'s ``BayesianPersonalizedRanking``
(Cython SGD over all cores) against ``MatrixFactorization(loss="bpr")``
(torch, batches of ``--batch-size``). On MovieLens-100K ``ua`` the NDCG@10 of
both is reported too (full catalog, training items excluded, our metric
code). Run: ``python benchmarks/peer_speed.py`` (``pip install implicit``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from _common import data_home, write_result
from skorch_overhead import synthetic_rows

from sk_recsys.data import encode_ids, interaction_matrix
from sk_recsys.datasets import load_movielens
from sk_recsys.metrics import get_scorer, ndcg_at_k
from sk_recsys.models import MatrixFactorization

FACTORS, EPOCHS = 64, 20


def _implicit_bpr(X):
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    users, (user_codes,) = encode_ids(np.asarray(X[:, 0]))
    items, (item_codes,) = encode_ids(np.asarray(X[:, 1]))
    matrix = interaction_matrix(user_codes, item_codes, shape=(len(users), len(items)))
    model = BayesianPersonalizedRanking(
        factors=FACTORS, iterations=EPOCHS, random_state=0
    )
    start = time.perf_counter()
    model.fit(sp.csr_matrix(matrix), show_progress=False)
    return model, time.perf_counter() - start, users, items, matrix


def _implicit_ndcg(model, users, items, matrix, X_test):
    test_users = np.unique(X_test[:, 0])
    rows = np.searchsorted(users, test_users)
    scores = model.user_factors[rows] @ model.item_factors.T
    scores[matrix[rows].toarray() > 0] = -np.inf
    relevant = np.zeros_like(scores)
    positions = {item: j for j, item in enumerate(items)}
    for user, item in X_test[:, :2]:
        if item in positions:
            relevant[np.searchsorted(test_users, user), positions[item]] = 1
    return ndcg_at_k(relevant, scores, k=10)


def _ours(X, batch_size):
    model = MatrixFactorization(
        n_factors=FACTORS,
        loss="bpr",
        n_negatives=1,
        max_epochs=EPOCHS,
        batch_size=batch_size,
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    try:
        import implicit
    except ImportError:
        implicit = None
        print("implicit is not installed: only sk_recsys is timed")
    X_train, X_test, _, _ = load_movielens(
        "100k", split="ua", data_home=data_home(), return_X_y=True
    )
    synthetic, _ = synthetic_rows(args.rows, 20_000, 5_000)
    datasets = {
        "MovieLens-100K ua.base": X_train.iloc[:, :2].to_numpy(),
        f"synthetic {args.rows:,} rows": synthetic,
    }
    rows = []
    for name, X in datasets.items():
        ours, ours_s = _ours(X, args.batch_size)
        row = {"dataset": name, "sk_recsys_fit_s": ours_s}
        if implicit is not None:
            peer, peer_s, users, items, matrix = _implicit_bpr(X)
            row.update({"implicit_fit_s": peer_s, "ratio": ours_s / peer_s})
        if name.startswith("MovieLens"):
            row["sk_recsys_ndcg@10"] = get_scorer("ndcg@10")(ours, X_test)
            if implicit is not None:
                row["implicit_ndcg@10"] = _implicit_ndcg(
                    peer, users, items, matrix, X_test.to_numpy()
                )
        rows.append(row)
        print(row, flush=True)
    version = implicit.__version__ if implicit is not None else "absent"
    path = write_result(
        "peer_speed_bpr_cpu",
        {
            "title": (
                f"BPR-MF fit time, {FACTORS} factors, {EPOCHS} epochs, CPU: sk_recsys "
                f"(batch {args.batch_size}) vs implicit {version}"
            ),
            "protocol": (
                "one negative per positive; implicit's BayesianPersonalizedRanking "
                "with its defaults otherwise; NDCG@10 on ua.test (full catalog, "
                "training items excluded) for context"
            ),
            "columns": [
                "dataset",
                "sk_recsys_fit_s",
                "implicit_fit_s",
                "ratio",
                "sk_recsys_ndcg@10",
                "implicit_ndcg@10",
            ],
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
