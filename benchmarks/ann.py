"""Approximate retrieval (ItemIndex) against exact torch scoring.

For ``10^5`` and ``10^6`` items: recall@100 of the approximate top-100
lists against the exact ones, and the time to rank the catalog for every
query user, with exact scoring (one matrix product and ``topk`` per block
of users, in torch: what ``recommend`` does) beside it. The index build
time is reported apart (paid once per fitted model).

Vectors are synthetic and shaped like trained factors: 64 dimensions with
a decaying spectrum (dimension ``j`` scaled by ``j ** -0.5``), 256 clusters
of users and items, and a heavy-tailed spread of item norms (popular items
have longer vectors), which is what makes maximum-inner-product search
harder than a nearest-neighbour search. Candidates measured:

- ``ItemIndex`` (faiss ``IndexIVFFlat`` over the vectors made Euclidean by
  one extra coordinate), for several ``n_probe``;
- hnswlib's HNSW graph with inner product, the other common choice, for
  several ``ef`` (build ``M=32, ef_construction=200``), up to
  ``--hnsw-max-items`` items.

Both sides use the same number of threads (``--threads``). Results go to
``results/ann_<n_items>.json``.

Run: ``python -m benchmarks.ann [--items 100000 1000000] [--users 10000]
[--threads 2] [--hnsw-max-items 100000]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import _common

DIM = 64
K = 100
N_CLUSTERS = 256
PROBES = {100_000: (16, 32, 64, 128), 1_000_000: (16, 32, 64, 128, 256)}
EFS = (128, 512)


def vectors(n_items: int, n_users: int, seed: int = 0):
    """Factor-like item and user vectors (see the module docstring)."""
    rng = np.random.default_rng(seed)
    scale = (np.arange(1, DIM + 1) ** -0.5).astype(np.float32)
    centers = rng.normal(size=(N_CLUSTERS, DIM)).astype(np.float32)

    def draw(n):
        noise = rng.normal(size=(n, DIM)).astype(np.float32)
        return (centers[rng.integers(0, N_CLUSTERS, n)] + 0.5 * noise) * scale

    items = draw(n_items)
    items *= (1 + 0.3 * rng.pareto(3.0, n_items)).astype(np.float32)[:, None]
    return items, draw(n_users)


def exact_top(items, users, block: int = 512):
    """Top-K item indices per user by one matrix product per block."""
    import torch

    item_tensor = torch.from_numpy(items)
    out = np.empty((len(users), K), dtype=np.int64)
    for start in range(0, len(users), block):
        query = torch.from_numpy(users[start : start + block])
        out[start : start + block] = torch.topk(query @ item_tensor.T, K, dim=1)[1]
    return out


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each exact top-K list found (rows of item indices)."""
    n_items = int(max(found.max(), exact.max())) + 2
    rows = np.arange(len(exact))[:, None]
    keys_exact = (rows * n_items + exact).ravel()
    keys_found = (rows * n_items + found).ravel()
    return float(np.isin(keys_exact, keys_found).mean())


class _Vectors:
    """The least a model offers an ItemIndex: its item vectors."""

    def __init__(self, items):
        self.items = items

    def _item_vectors(self):
        return self.items


def run(n_items: int, n_users: int, threads: int, hnsw_max_items: int) -> dict:
    import faiss
    import hnswlib
    import torch

    from sk_recsys.retrieval import ItemIndex

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    items, users = vectors(n_items, n_users)
    start = time.perf_counter()
    exact = exact_top(items, users)
    exact_s = time.perf_counter() - start
    print(f"{n_items} items, {n_users} users: exact {exact_s:.2f} s", flush=True)
    rows = [
        {
            "method": "exact (torch matmul + topk)",
            "setting": "",
            "build_s": 0.0,
            "rank_s": exact_s,
            "recall@100": 1.0,
            "speedup": 1.0,
        }
    ]

    def add(method, setting, build_s, rank_s, found):
        row = {
            "method": method,
            "setting": setting,
            "build_s": build_s,
            "rank_s": rank_s,
            "recall@100": recall(found, exact),
            "speedup": exact_s / rank_s,
        }
        rows.append(row)
        print(
            f"  {method:<28} {setting:<12} build {build_s:7.1f} s  rank "
            f"{rank_s:6.2f} s  recall@100 {row['recall@100']:.4f}  "
            f"{row['speedup']:5.1f}x",
            flush=True,
        )

    model = _Vectors(items)
    start = time.perf_counter()
    index = ItemIndex(n_threads=threads).fit(model)
    build_s = time.perf_counter() - start
    for n_probe in PROBES.get(n_items, (16, 64)):
        index.index_.nprobe = n_probe
        start = time.perf_counter()
        found, _ = index.search(users, K)
        add(
            f"ItemIndex (IVF, {index.n_lists_} lists)",
            f"n_probe={n_probe}",
            build_s,
            time.perf_counter() - start,
            found,
        )
    if n_items > hnsw_max_items:
        return _payload(n_items, n_users, threads, rows)
    graph = hnswlib.Index(space="ip", dim=DIM)
    graph.init_index(max_elements=n_items, ef_construction=200, M=32, random_seed=0)
    graph.set_num_threads(threads)
    start = time.perf_counter()
    graph.add_items(items)
    build_s = time.perf_counter() - start
    for ef in EFS:
        graph.set_ef(ef)
        start = time.perf_counter()
        found, _ = graph.knn_query(users, k=K)
        add(
            "hnswlib HNSW (ip, M=32)",
            f"ef={ef}",
            build_s,
            time.perf_counter() - start,
            found,
        )
    return _payload(n_items, n_users, threads, rows)


def _payload(n_items, n_users, threads, rows) -> dict:
    best = [r for r in rows[1:] if r["recall@100"] >= 0.95]
    fastest = max(best, key=lambda r: r["speedup"]) if best else None
    return {
        "title": f"Approximate top-100 retrieval, {n_items} items",
        "n_items": n_items,
        "n_users": n_users,
        "dim": DIM,
        "threads": threads,
        "fastest_at_recall_0.95": fastest,
        "protocol": (
            f"{n_users} query users, top-{K}, {DIM}-dimensional factor-like "
            f"synthetic vectors, {threads} threads each side; rank_s is the "
            "time to rank the catalog for every query user, build_s the "
            "one-off index build; speedup = exact rank_s / rank_s."
        ),
        "columns": ["method", "setting", "build_s", "rank_s", "recall@100", "speedup"],
        "rows": rows,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--hnsw-max-items",
        type=int,
        default=100_000,
        help="build the HNSW graph only up to this many items (its build "
        "takes minutes at 10^6 and its recall stalled below 0.95 at 10^5)",
    )
    args = parser.parse_args(argv)
    for n_items in args.items:
        payload = run(n_items, args.users, args.threads, args.hnsw_max_items)
        _common.write_result(f"ann_{n_items}", payload)


if __name__ == "__main__":
    main()
