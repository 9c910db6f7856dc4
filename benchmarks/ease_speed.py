"""EASE's inversion against this machine's dense floor, and against skrecsys.

1. The floor: GFLOP/s of a large matrix product (``--n`` square, float32
   and float64) with ``--threads`` torch threads.
2. Inverting one symmetric positive-definite ``n x n`` matrix (a
   regularised item Gram matrix of a random sparse matrix) four ways:
   Cholesky then ``cholesky_solve`` against the identity (what EASE did),
   LAPACK ``potri`` (``torch.cholesky_inverse``), LU (``torch.linalg.inv``)
   and our recursive block inversion (``spd_inverse``, what EASE does now),
   in float64 and float32; each as a multiple of ``n^3`` flops at the floor.
3. ``EASE`` fitted on Last.fm-2K (17,632 items; the suite's split) with the
   inversion in float64 (the default) and in float32, beside skrecsys's
   ``EASE`` in the same run: fit time and test NDCG@10 (the suite's
   evaluation: full catalog, training items excluded).

Run: ``python benchmarks/ease_speed.py [--n 4096] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common, suite
from sk_recsys.utils._linalg import spd_inverse


def _best_of(function, repeat):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _gram(n, seed=0):
    rng = np.random.default_rng(seed)
    matrix = sp.random(4 * n, n, density=0.02, random_state=rng, format="csr")
    matrix.data[:] = 1.0
    gram = (matrix.T @ matrix).toarray()
    gram[np.diag_indices(n)] += 500.0
    return torch.from_numpy(gram)


def floor(n, repeat) -> dict:
    out = {}
    for dtype in (torch.float32, torch.float64):
        a = torch.randn(n, n, dtype=dtype)
        b = torch.randn(n, n, dtype=dtype)
        seconds = _best_of(lambda a=a, b=b: a @ b, repeat)
        out[str(dtype).split(".")[1]] = 2 * n**3 / seconds / 1e9
    return out


def inversions(n, gflops, repeat) -> list[dict]:
    gram64 = _gram(n)
    rows = []
    for dtype in (torch.float64, torch.float32):
        name = str(dtype).split(".")[1]
        gram = gram64.to(dtype)
        eye = torch.eye(n, dtype=dtype)
        methods = {
            "cholesky + cholesky_solve(I) (EASE before)": lambda g=gram, e=eye: (
                torch.cholesky_solve(e, torch.linalg.cholesky(g))
            ),
            "cholesky_inverse (LAPACK potri)": lambda g=gram: torch.cholesky_inverse(
                torch.linalg.cholesky(g)
            ),
            "linalg.inv (LU)": lambda g=gram: torch.linalg.inv(g),
            "spd_inverse (recursive blocks, EASE now)": lambda g=gram: spd_inverse(g),
        }
        at_floor = n**3 / (gflops[name] * 1e9)
        for method, function in methods.items():
            seconds = _best_of(function, repeat)
            rows.append(
                {
                    "dtype": name,
                    "method": method,
                    "n": n,
                    "seconds": seconds,
                    "x_n3_at_floor": seconds / at_floor,
                }
            )
            print(rows[-1], flush=True)
    return rows


def lastfm() -> list[dict]:
    """EASE on Last.fm-2K in both precisions, then skrecsys's, through the
    suite's adapters (fit on the fold, scored in its index space)."""
    from benchmarks.peers import Ours, SkRecsys

    config = suite.load_config()
    try:
        fold = suite.load_folds(config["datasets"]["lastfm-2k"], _common.data_home())[0]
    except FileNotFoundError as error:
        print(f"Last.fm-2K is absent ({error}); skipped")
        return []
    adapters = {
        f"sk_recsys EASE (dtype={dtype})": Ours("ease", {"dtype": dtype}, "ranking")
        for dtype in ("float64", "float32")
    }
    try:
        import skrecsys  # noqa: F401
    except ImportError:
        print("skrecsys is not installed: its EASE is not timed")
    else:
        peer = SkRecsys("EASE", {}, "ranking")
        adapters[f"{peer.library} EASE (its defaults)"] = peer
    rows = []
    for name, adapter in adapters.items():
        start = time.perf_counter()
        adapter.fit(fold)
        seconds = time.perf_counter() - start
        metrics = suite.evaluate_ranking(adapter.score_users, fold)
        rows.append({"model": name, "fit_s": seconds, "ndcg@10": metrics["ndcg@10"]})
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    gflops = floor(args.n, args.repeat)
    print("floor GFLOP/s", gflops, flush=True)
    rows = inversions(args.n, gflops, args.repeat)
    fits = lastfm()
    _common.write_result(
        f"ease_speed_cpu_{args.threads}threads",
        {
            "title": (
                f"EASE inversion vs this machine's dense floor ({args.threads} torch "
                f"threads): matmul {gflops['float32']:.0f} GFLOP/s float32, "
                f"{gflops['float64']:.0f} GFLOP/s float64"
            ),
            "protocol": (
                f"best of {args.repeat}; x_n3_at_floor = seconds / (n^3 flops at the "
                "matmul floor of that dtype); an SPD inverse needs n^3 flops at best"
            ),
            "floor_gflops": gflops,
            "columns": ["dtype", "method", "n", "seconds", "x_n3_at_floor"],
            "formats": {"seconds": ".2f", "x_n3_at_floor": ".2f"},
            "rows": rows,
            "lastfm": fits,
        },
    )


if __name__ == "__main__":
    main()
