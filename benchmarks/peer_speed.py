"""Fit times against implicit, the same model at the same size, on the CPU.

``--model bpr`` (the default): 20 epochs of BPR matrix factorisation, 64
factors, one negative per positive: ``implicit``'s
``BayesianPersonalizedRanking`` (Cython SGD over all cores) against
``MatrixFactorization(loss="bpr")`` (torch, batches of ``--batch-size``). On
MovieLens-100K ``ua`` the NDCG@10 of both is reported too.

``--model als``: implicit ALS, the same objective on both sides: confidence
10 on an interaction and 1 elsewhere (implicit's ``alpha=10`` on binary
data; our ``alpha=9``, since ours is ``1 + alpha * y``), ``l2 = 0.01`` for
every user and item (our ``l2_exponent=0``), 15 iterations, at 64 and 128
factors, ``--threads`` threads on both sides (implicit's ``num_threads``,
torch's intra-op threads). implicit solves by 3 conjugate-gradient steps
per row (its default); ours is timed with ``solver="cg"`` (the same 3
steps) and, up to 2M training rows, ``solver="exact"`` (batched
Cholesky). Datasets: the suite's ``ml100k-ua``, ``synthetic-1m`` and
``synthetic-10m`` folds; time per iteration (fit time / 15) and NDCG@10
on the fold's test rows at the end (the suite's evaluation: full
catalog, training items excluded, our metric code).

``--model neighbours``: ``RP3Beta`` and ``SLIM`` against skrecsys's, at
the setting ``baseline_selection.py`` chose for ours on each dataset, given
to both: RP3Beta's ``alpha``, ``beta``, ``n_neighbors`` and row
normalisation as they are; SLIM's ``l1``/``l2`` as skrecsys's ``alpha =
(l1 + l2) / n_users`` and ``l1_ratio = l1 / (l1 + l2)`` (the same elastic
net), both non-negative, 100 neighbours, 100 iterations, tol 1e-4. Fit
time with ``--threads`` workers on both sides (skrecsys's ``n_jobs``; our
SLIM's ``n_jobs``, torch's threads for RP3Beta), best of ``--repeats``
(once past 30 s), and NDCG@10 on the fold's test rows. Datasets: ``ml100k-ua``,
``ml1m-subset``, ``lastfm-2k``.

Run: ``python benchmarks/peer_speed.py [--model als | neighbours]
[--threads 2]`` (``pip install implicit skrecsys``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _common import data_home, write_result
from skorch_overhead import synthetic_rows

# The suite's folds (benchmarks.suite) for the ALS comparison.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


ALS_ITERATIONS, ALS_CONFIDENCE, ALS_L2 = 15, 10.0, 0.01


def _als_fits(fold, factors, threads):
    """Time implicit's ALS and ours (cg, exact) on one fold; score each.

    Both run through the suite's adapters (``benchmarks.peers``), which fit
    on the fold and score in its index space, as in ``python -m benchmarks
    run``.
    """
    import torch

    from benchmarks.peers import Implicit, Ours
    from benchmarks.suite import evaluate_ranking

    def timed(adapter, library):
        start = time.perf_counter()
        adapter.fit(fold)
        fit_s = time.perf_counter() - start
        metrics = evaluate_ranking(adapter.score_users, fold)
        return _als_row(fold, factors, library, fit_s, metrics)

    peer = Implicit(
        "als",
        {
            "factors": factors,
            "regularization": ALS_L2,
            "alpha": ALS_CONFIDENCE,
            "iterations": ALS_ITERATIONS,
            "num_threads": threads,
        },
        "ranking",
    )
    rows = [timed(peer, f"{peer.library} (cg, 3 steps)")]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        # The exact solver costs O(nnz f^2) an iteration: timed up to 2M rows.
        solvers = ("cg", "exact") if len(fold.train) <= 2_000_000 else ("cg",)
        for solver in solvers:
            params = {
                "n_factors": factors,
                "max_iter": ALS_ITERATIONS,
                "alpha": ALS_CONFIDENCE - 1.0,
                "l2": ALS_L2,
                "l2_exponent": 0.0,
                "solver": solver,
                "cg_steps": 3,
                "random_state": 0,
            }
            ours = Ours("ials", params, "ranking")
            rows.append(timed(ours, f"sk_recsys ImplicitALS ({solver})"))
    finally:
        torch.set_num_threads(previous)
    base = rows[0]["s_per_iteration"]
    for row in rows:
        row["vs_implicit"] = row["s_per_iteration"] / base
    return rows


def _als_row(fold, factors, library, fit_s, metrics):
    row = {
        "dataset": fold.name,
        "factors": factors,
        "library": library,
        "s_per_iteration": fit_s / ALS_ITERATIONS,
        "fit_s": fit_s,
        "ndcg@10": metrics["ndcg@10"],
    }
    print(row, flush=True)
    return row


def als_main(threads, datasets):
    import implicit

    from benchmarks import suite

    config = suite.load_config()
    rows = []
    for name in datasets:
        fold = suite.load_folds(config["datasets"][name], data_home())[0]
        fold = dataclasses.replace(fold, name=name)
        for factors in (64, 128):
            rows.extend(_als_fits(fold, factors, threads))
    path = write_result(
        f"peer_speed_als_cpu_{threads}threads",
        {
            "title": (
                f"Implicit ALS time per iteration, {ALS_ITERATIONS} iterations, "
                f"{threads} thread(s), CPU: sk_recsys ImplicitALS vs implicit "
                f"{implicit.__version__}"
            ),
            "protocol": (
                f"confidence {ALS_CONFIDENCE:g} on an interaction and 1 elsewhere, "
                f"l2 {ALS_L2} for every row on both sides; NDCG@10 on the fold's "
                "test rows after the last iteration (full catalog, training items "
                "excluded, the suite's evaluation)"
            ),
            "columns": [
                "dataset",
                "factors",
                "library",
                "s_per_iteration",
                "vs_implicit",
                "ndcg@10",
            ],
            "formats": {"s_per_iteration": ".3f", "vs_implicit": ".2f"},
            "rows": rows,
        },
    )
    print(f"wrote {path}")


def _neighbour_settings(config, name, fold, model):
    """Ours and skrecsys's parameters for the setting chosen on ``name``."""
    from benchmarks import suite

    entry = suite.resolve_model(config["models"][model], name)
    ours = dict(entry.get("params", {}))
    if model == "rp3beta":
        peer = {
            "alpha": ours["alpha"],
            "beta": ours["beta"],
            "n_neighbors": ours["n_neighbors"],
            "normalize_similarity": ours.get("normalize", False),
        }
        return ours, "RP3Beta", peer
    penalty = ours["l1"] + ours["l2"]
    peer = {
        "alpha": penalty / fold.n_users,
        "l1_ratio": ours["l1"] / penalty,
        "n_neighbors": ours.get("n_neighbors", 100),
    }
    return ours, "SLIMElasticNet", peer


def neighbours_main(threads, datasets, repeats):
    """RP3Beta and SLIM against skrecsys's at equal settings."""
    import skrecsys
    import torch

    from benchmarks import suite
    from benchmarks.peers import Ours, SkRecsys

    config = suite.load_config()
    rows = []
    torch.set_num_threads(threads)
    for name in datasets:
        fold = suite.load_folds(config["datasets"][name], data_home())[0]
        for model in ("rp3beta", "slim"):
            ours, estimator, theirs = _neighbour_settings(config, name, fold, model)
            if model == "slim":
                ours = {**ours, "n_jobs": threads}
            adapters = {
                "sk_recsys": Ours(model, ours, "ranking"),
                f"skrecsys {skrecsys.__version__}": SkRecsys(
                    estimator, {**theirs, "n_jobs": threads}, "ranking"
                ),
            }
            # The libraries take turns, so a load that comes and goes on a
            # shared machine slows both alike; a long fit is timed once.
            times = dict.fromkeys(adapters, np.inf)
            for _ in range(repeats):
                for library, adapter in adapters.items():
                    if 30.0 < times[library] < np.inf:
                        continue
                    start = time.perf_counter()
                    adapter.fit(fold)
                    times[library] = min(times[library], time.perf_counter() - start)
            for library, adapter in adapters.items():
                best = times[library]
                metrics = suite.evaluate_ranking(adapter.score_users, fold)
                row = {
                    "dataset": name,
                    "model": model,
                    "library": library,
                    "setting": ", ".join(
                        f"{k}={v}" if isinstance(v, bool) else f"{k}={v:g}"
                        for k, v in theirs.items()
                    ),
                    "fit_s": best,
                    "ndcg@10": metrics["ndcg@10"],
                }
                rows.append(row)
                print(row, flush=True)
            ratio = times["sk_recsys"] / times[next(iter(times.keys() - {"sk_recsys"}))]
            for row in rows[-2:]:
                row["ours_vs_skrecsys"] = ratio
    path = write_result(
        f"peer_speed_neighbours_cpu_{threads}threads",
        {
            "title": (
                f"RP3Beta and SLIM fit time at equal settings, {threads} thread(s), "
                "CPU: sk_recsys against skrecsys"
            ),
            "protocol": (
                "each dataset's setting chosen for ours on its validation split "
                "(baseline_selection.py), given to both (SLIM: skrecsys alpha = "
                "(l1 + l2) / n_users, l1_ratio = l1 / (l1 + l2)); fit time best of "
                f"{repeats}, the two libraries taking turns; NDCG@10 on the fold's "
                "test rows (full catalog, training "
                "items excluded, the suite's evaluation)"
            ),
            "columns": [
                "dataset",
                "model",
                "library",
                "setting",
                "fit_s",
                "ours_vs_skrecsys",
                "ndcg@10",
            ],
            "formats": {"fit_s": ".3f", "ours_vs_skrecsys": ".2f"},
            "rows": rows,
        },
    )
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["bpr", "als", "neighbours"], default="bpr")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--datasets", nargs="+", default=["ml100k-ua", "synthetic-1m", "synthetic-10m"]
    )
    args = parser.parse_args()
    if args.model == "als":
        als_main(args.threads, args.datasets)
        return
    if args.model == "neighbours":
        datasets = args.datasets
        if datasets == parser.get_default("datasets"):
            datasets = ["ml100k-ua", "ml1m-subset", "lastfm-2k"]
        neighbours_main(args.threads, datasets, args.repeats)
        return
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
