"""How MatrixFactorization's costs grow with the number of interactions.

For each size, in a fresh subprocess (so that peak memory is its own):
synthetic implicit interactions with MovieLens-like skew (distinct pairs,
about 150 per user, lognormal user activity, Zipf item popularity, the
catalog growing as ``n ** 0.66`` as MovieLens's does from 1M to 25M), then

* the time of an MF epoch (BPR, one negative per row, 64 factors, batch
  65,536), median over the epochs after a warm-up one, and the same for the
  plain torch loop of ``skorch_overhead.py`` (their ratio is skorch's cost);
* the same epoch with ``sparse=True`` (sparse embedding gradients and
  ``torch.optim.SparseAdam``), whose step touches only its batch's rows;
* the time of the full-catalog top-10 for every user;
* peak memory of ``fit`` and of the ranking over the memory held before each
  (Linux: freed heap memory is first returned to the OS with glibc's
  ``malloc_trim``, so that later allocations cannot hide in it, and the
  high-water mark is reset through ``/proc/self/clear_refs``;
  elsewhere ``ru_maxrss``, which then includes the data generation), and on
  a GPU ``torch.cuda.max_memory_allocated``; the fit is preceded by a
  warm-up fit of four full batches, whose own peak (``step_peak_mb``) is the
  working set of one training step, the same at every size;
* on Linux with glibc (>= 2.33), the same windows' peak *allocated* heap,
  the CPU analogue of ``max_memory_allocated``: glibc's ``mallinfo2()``
  bytes in use (``uordblks``, in the arenas, plus ``hblkhd``, in mmapped
  chunks), sampled by a background thread every 1 ms, peak over the value
  at the window's start (``step_live_mb``, ``fit_live_mb``). Resident
  memory also counts what glibc keeps after a ``free`` (freed blocks left
  in the heap, fragmentation), allocated memory does not. A spike shorter
  than the sampling interval (or than the interpreter's switch interval,
  5 ms, while the main thread holds the GIL) can be missed, so these peaks
  are lower bounds. The sampling thread competes with the work for the GIL
  and the allocator's lock, so it runs only with ``--memory-only``, whose
  times are not reported. Elsewhere the columns are absent;
* the size of the training tensors (int32 users and items) plus the
  parameters: the target is a fit peak of at most 3x that. The ratios are
  given for both measures (``fit_peak_ratio``, ``fit_live_ratio``), and for
  the part of the peak that depends on the data: the fit peak less the
  step's (``fit_peak_less_step_ratio``, ``fit_live_less_step_ratio``).

Each phase's wall time (data, fit, ranking, ...) goes to stderr as it ends,
so that a run stopped by a time limit shows where its time went.

With ``--memory-only``, the plain torch loop of ``skorch_overhead.py`` is
measured the same way in a process of its own, for reference
(``plain_peak_mb``, ``plain_live_mb``, ``plain_gpu_peak_mb`` and their ratios
over the same tensors plus parameters): what a hand-written loop costs on
the same allocator.

Writes ``results/scale_<device>.json`` and ``results/scale_<device>.png``
(with ``--memory-only``, the fit's memory alone after one epoch:
``results/scale_<device>_memory.json``); when glibc allocator settings are
in the environment (``GLIBC_TUNABLES``, ``MALLOC_*``), the names end in
``_allocator`` and the title names them. Examples::

    python benchmarks/scale.py --sizes 100000 1000000          # quick check
    python benchmarks/scale.py                                 # 1e5, 1e6, 1e7
    OMP_NUM_THREADS=1 python benchmarks/scale.py --memory-only --sizes 1e5 1e6 1e7 1e8
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576 \
        python benchmarks/scale.py                             # tuned allocator
    python benchmarks/scale.py --device cuda --sizes 1e5 1e6 1e7 2e7 1e8
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS, write_result
from skorch_overhead import plain_loop

from sk_recsys.models import MatrixFactorization

MB = 2**20


def interactions(n_rows: int, seed: int = 0, device="cpu"):
    """Distinct skewed implicit (user, item) pairs as int32, and the id counts.

    Users are drawn by lognormal activity and items by Zipf popularity; a
    pair drawn twice counts once, as in MovieLens, until ``n_rows`` distinct
    pairs are drawn. The rows come in random order. With a GPU ``device``
    the same draws are made there by torch (other random numbers, the same
    distribution): 10^8 rows in seconds instead of minutes.
    """
    n_users = max(10, n_rows // 150)
    n_items = max(50, int(3_700 * (n_rows / 1e6) ** 0.66))
    if torch.device(device).type != "cpu":
        return _interactions_torch(n_rows, n_users, n_items, seed, device)
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, n_users)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    user_cdf = np.cumsum(activity / activity.sum())
    item_cdf = np.cumsum(popularity / popularity.sum())
    keys = np.empty(0, dtype=np.int64)
    step = 5_000_000  # bounds the float64 temporaries of the draws
    while len(keys) < n_rows:
        drawn = [keys]
        for start in range(0, int(1.4 * (n_rows - len(keys))) + 1, step):
            size = min(step, int(1.4 * (n_rows - len(keys))) + 1 - start)
            users, items = (
                np.minimum(
                    np.searchsorted(cdf, rng.random(size) * cdf[-1]), len(cdf) - 1
                )
                for cdf in (user_cdf, item_cdf)
            )
            drawn.append(users.astype(np.int64) * n_items + items)
        keys = np.unique(np.concatenate(drawn))
    keys = rng.permutation(keys)[:n_rows]
    X = np.column_stack([keys // n_items, keys % n_items]).astype(np.int32)
    # Ids that drew no row are simply absent, as in a real log.
    return X, n_users, n_items


def _interactions_torch(n_rows, n_users, n_items, seed, device):
    """:func:`interactions` drawn by torch on ``device``."""
    generator = torch.Generator(device).manual_seed(seed)
    activity = torch.empty(n_users, dtype=torch.float64, device=device)
    activity.log_normal_(0.0, 1.0, generator=generator)
    popularity = 1.0 / torch.arange(1, n_items + 1, device=device) ** 0.9
    cdfs = [torch.cumsum(w / w.sum(), 0) for w in (activity, popularity)]
    keys = torch.empty(0, dtype=torch.long, device=device)
    while len(keys) < n_rows:
        size = int(1.4 * (n_rows - len(keys))) + 1
        users, items = (
            torch.searchsorted(
                cdf,
                torch.rand(size, generator=generator, device=device, dtype=cdf.dtype)
                * cdf[-1],
            ).clamp_(max=len(cdf) - 1)
            for cdf in cdfs
        )
        keys = torch.unique(torch.cat([keys, users * n_items + items]))
    order = torch.randperm(len(keys), generator=generator, device=device)[:n_rows]
    keys = keys[order]
    X = torch.stack([keys // n_items, keys % n_items], 1).int().cpu().numpy()
    del keys, order, cdfs
    torch.cuda.empty_cache()
    return X, n_users, n_items


def _rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        return int(re.search(r"VmRSS:\s+(\d+)", status.read_text()).group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        return int(re.search(r"VmHWM:\s+(\d+)", status.read_text()).group(1)) / 1024
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _peak_over(start_mb: float, device) -> dict:
    out = {"peak_mb": _peak_mb() - start_mb}
    if torch.device(device).type == "cuda":
        out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / MB
    return out


def _release_free_heap() -> None:
    """Hand freed heap memory back to the OS (glibc), so resident memory at
    the start of a window is what is live, not what earlier work freed."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _start_window(device) -> float:
    gc.collect()
    _release_free_heap()
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _reset_peak()
    return _rss_mb()


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mallinfo2():
    """glibc's ``mallinfo2`` (2.33 and later), or None where there is none."""
    try:
        function = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    function.argtypes = []
    function.restype = _Mallinfo2
    return function


_MALLINFO2 = _mallinfo2()


def _live_bytes() -> int:
    """Heap bytes handed out by malloc and not freed: arenas plus mmapped."""
    info = _MALLINFO2()
    return info.uordblks + info.hblkhd


class _LivePeak:
    """Peak allocated heap over its value at entry, sampled every ``interval``
    seconds by a background thread (a shorter spike can be missed).

    ``mb`` is None where glibc's ``mallinfo2`` is unavailable or when not
    ``active``: the sampling thread competes with the measured work for the
    GIL and the allocator's lock, so timed windows run without it.
    """

    def __init__(self, interval: float = 1e-3, *, active: bool = True):
        self.interval = interval
        self.active = active and _MALLINFO2 is not None
        self.mb = None

    def __enter__(self):
        if not self.active:
            return self
        self._start = self._peak = _live_bytes()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._done.wait(self.interval):
            self._peak = max(self._peak, _live_bytes())

    def __exit__(self, *exc):
        if not self.active:
            return False
        self._done.set()
        self._thread.join()
        self._peak = max(self._peak, _live_bytes())
        self.mb = (self._peak - self._start) / MB
        return False


def _window(device, work, *args, live: bool):
    """Run ``work(*args)`` in a memory window: its result and the window's peaks
    over its start (``peak_mb``; ``live_mb`` when ``live`` and glibc can
    tell; ``gpu_peak_mb`` on a GPU)."""
    start = _start_window(device)
    with _LivePeak(active=live) as sampled:
        result = work(*args)
    peaks = _peak_over(start, device)
    if sampled.mb is not None:
        peaks["live_mb"] = sampled.mb
    return result, peaks


def _shared(args) -> dict:
    """The model settings our fit and the plain loop share."""
    return {"n_factors": args.factors, "lr": 1e-3, "l2": 0.01}


def _plain_epochs(X, y, n_users, n_items, args) -> list[float]:
    """The plain torch loop's epoch times, with the fit's settings."""
    return plain_loop(
        X,
        y,
        loss="bpr",
        n_users=n_users,
        n_items=n_items,
        batch_size=args.batch_size,
        epochs=args.epochs,
        device=args.device,
        **_shared(args),
    )


class _Progress:
    """Prints each phase's wall time to stderr as it ends, so that a run
    stopped by a time limit still shows where its time went."""

    def __init__(self, n_rows: int):
        self.label = f"{n_rows:,} rows"
        self.began = time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        print(f"  {self.label}: {phase} {now - self.began:.1f} s", file=sys.stderr)
        sys.stderr.flush()
        self.began = now


def measure(n_rows: int, args) -> dict:
    """One size, in this process."""
    progress = _Progress(n_rows)
    settings = {
        "loss": "bpr",
        "n_negatives": 1,
        "batch_size": args.batch_size,
        "device": args.device,
        "random_state": 0,
        **_shared(args),
    }
    # A warm-up fit of four full batches first: lazy imports, thread pools
    # and the allocator's pools for one step's activations are paid once per
    # process. Its peak is the working set of a step, whatever the data size.
    small, *_ = interactions(4 * args.batch_size, seed=1, device=args.device)
    warm, step = _window(
        args.device,
        MatrixFactorization(max_epochs=1, **settings).fit,
        small,
        live=args.memory_only,
    )
    warm.recommend(np.asarray(warm.users_), k=10)
    del warm, small
    progress("warm-up")
    X, n_users, n_items = interactions(n_rows, device=args.device)
    progress("data")
    model, fit = _window(
        args.device,
        MatrixFactorization(max_epochs=args.epochs, **settings).fit,
        X,
        live=args.memory_only,
    )
    progress(f"fit, {args.epochs} epochs")
    parameters = sum(p.numel() * p.element_size() for p in model.module_.parameters())
    tensors = 2 * 4 * n_rows  # int32 users and items (implicit: no values)
    base_mb = (tensors + parameters) / MB
    memory = {
        "tensors_params_mb": base_mb,
        "step_peak_mb": step["peak_mb"],
        "fit_peak_mb": fit["peak_mb"],
        "fit_peak_ratio": fit["peak_mb"] / base_mb,
        "fit_peak_less_step_ratio": (fit["peak_mb"] - step["peak_mb"]) / base_mb,
    }
    if "gpu_peak_mb" in fit:  # the GPU holds the training tensors and the model
        memory |= {
            "step_gpu_peak_mb": step["gpu_peak_mb"],
            "fit_gpu_peak_mb": fit["gpu_peak_mb"],
            "fit_gpu_ratio": fit["gpu_peak_mb"] / base_mb,
        }
    if "live_mb" in fit:
        memory |= {
            "step_live_mb": step["live_mb"],
            "fit_live_mb": fit["live_mb"],
            "fit_live_ratio": fit["live_mb"] / base_mb,
            "fit_live_less_step_ratio": (fit["live_mb"] - step["live_mb"]) / base_mb,
        }
    if args.memory_only:
        return {
            "interactions": n_rows,
            "users": model.n_users_,
            "items": n_items,
            **memory,
        }
    ours = statistics.median(list(model.history[1:, "dur"]))

    users = np.asarray(model.users_)
    model.recommend(users[:1000], k=10)  # warm-up

    def rank_all(model):
        _sync(args.device)
        began = time.perf_counter()
        model.recommend(users, k=10)
        _sync(args.device)
        return time.perf_counter() - began

    rank_s, rank = _window(args.device, rank_all, model, live=False)
    progress("ranking")
    del model
    gc.collect()
    # Sparse embedding gradients and SparseAdam: a step touches only the rows
    # of its batch, so the epoch no longer grows with the catalog.
    sparse = MatrixFactorization(max_epochs=args.epochs, sparse=True, **settings)
    sparse.fit(X)
    sparse_s = statistics.median(list(sparse.history[1:, "dur"]))
    del sparse
    gc.collect()
    progress("sparse=True fit")

    plain = _plain_epochs(X, np.ones(n_rows, dtype=np.float32), n_users, n_items, args)
    plain_s = statistics.median(plain[1:])
    progress("plain loop")
    row = {
        "interactions": n_rows,
        "users": len(users),
        "items": n_items,
        "fit_epoch_s": ours,
        "plain_epoch_s": plain_s,
        "ratio_to_plain": ours / plain_s,
        "sparse_epoch_s": sparse_s,
        "rank_all_s": rank_s,
        **memory,
        "rank_peak_mb": rank["peak_mb"],
    }
    if "gpu_peak_mb" in rank:
        row["rank_gpu_peak_mb"] = rank["gpu_peak_mb"]
    return row


def measure_plain(n_rows: int, args) -> dict:
    """The plain torch loop's memory at one size, in this process: the same
    windows as ``measure`` (a warm-up on four batches, then the epochs)."""
    # The ratings BPR ignores are made before each window, not counted.
    small, *shape = interactions(4 * args.batch_size, seed=1, device=args.device)
    ones = np.ones(len(small), dtype=np.float32)
    _, step = _window(args.device, _plain_epochs, small, ones, *shape, args, live=True)
    del small, ones
    X, *shape = interactions(n_rows, device=args.device)
    ones = np.ones(n_rows, dtype=np.float32)
    _, fit = _window(args.device, _plain_epochs, X, ones, *shape, args, live=True)
    row = {"plain_step_peak_mb": step["peak_mb"], "plain_peak_mb": fit["peak_mb"]}
    if "live_mb" in fit:
        row |= {"plain_step_live_mb": step["live_mb"], "plain_live_mb": fit["live_mb"]}
    if "gpu_peak_mb" in fit:
        row["plain_gpu_peak_mb"] = fit["gpu_peak_mb"]
    return row


def plot(rows: list[dict], path: Path, device: str) -> None:
    """Three log-log panels: epoch and ranking time, and fit memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.array([r["interactions"] for r in rows], dtype=float)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [
        (
            "fit: seconds per epoch",
            [
                ("fit_epoch_s", "sk_recsys MF"),
                ("plain_epoch_s", "plain torch loop"),
                ("sparse_epoch_s", "sk_recsys MF, sparse=True"),
            ],
        ),
        ("full-catalog top-10, all users: seconds", [("rank_all_s", "recommend")]),
        (
            "memory (MB)",
            [
                ("fit_peak_mb", "fit peak resident over start"),
                ("fit_live_mb", "fit peak allocated over start"),
                ("tensors_params_mb", "training tensors + parameters"),
            ],
        ),
    ]
    for ax, (title, series) in zip(axes, panels, strict=True):
        for key, label in series:
            if all(key in r for r in rows):
                ax.loglog(n, [r[key] for r in rows], "o-", label=label)
        first = rows[0][series[0][0]]
        ax.loglog(n, first * n / n[0], ":", color="grey", label="linear")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("interactions")
        ax.legend(fontsize=8)
    fig.suptitle(f"MatrixFactorization (BPR) at scale, {device}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


MEMORY_COLUMNS = [
    "tensors_params_mb",
    "step_peak_mb",
    "step_live_mb",
    "fit_peak_mb",
    "fit_live_mb",
    "fit_peak_ratio",
    "fit_live_ratio",
    "fit_peak_less_step_ratio",
    "fit_live_less_step_ratio",
]

GPU_COLUMNS = [
    "step_gpu_peak_mb",
    "fit_gpu_peak_mb",
    "fit_gpu_ratio",
    "rank_gpu_peak_mb",
]

# The plain loop's memory (--memory-only runs), in a process of its own.
PLAIN_COLUMNS = [
    "plain_peak_mb",
    "plain_live_mb",
    "plain_peak_ratio",
    "plain_live_ratio",
    "plain_gpu_peak_mb",
]

MEMORY_PROTOCOL = (
    "*_peak_mb: peak resident memory (VmHWM) above the start of the window, "
    "freed heap returned to the OS first (malloc_trim); *_live_mb: peak "
    "allocated heap (glibc mallinfo2 uordblks + hblkhd, bytes handed out and "
    "not freed) above the start, sampled every 1 ms by a background thread, "
    "so a shorter spike can be missed; step_*: a warm-up fit of 4 batches "
    "before the fit, the working set of one training step; ratios: over "
    "tensors_params_mb (int32 users and items plus the parameters), "
    "*_less_step_ratio: the fit peak less the step's; on a GPU *_gpu_peak_mb: "
    "torch.cuda.max_memory_allocated in the window, fit_gpu_ratio its ratio "
    "to tensors_params_mb"
)


def _present(columns: list[str], rows: list[dict]) -> list[str]:
    """The columns that some row has (no live heap columns without glibc)."""
    return [c for c in columns if any(c in row for row in rows)]


def _allocator_settings() -> str:
    """glibc allocator settings from the environment ("" when none)."""
    names = sorted(k for k in os.environ if k.startswith("MALLOC_"))
    if "GLIBC_TUNABLES" in os.environ:
        names.append("GLIBC_TUNABLES")
    return " ".join(f"{name}={os.environ[name]}" for name in names)


def write_timed(rows: list[dict], args) -> None:
    device = torch.device(args.device).type
    allocator = _allocator_settings()
    name = f"scale_{device}" + ("_allocator" if allocator else "")
    figure = RESULTS / f"{name}.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(rows, figure, device)
    columns = [
        "interactions",
        "users",
        "items",
        "fit_epoch_s",
        "plain_epoch_s",
        "ratio_to_plain",
        "sparse_epoch_s",
        "rank_all_s",
        *_present([*MEMORY_COLUMNS, "rank_peak_mb"], rows),
        *_present(GPU_COLUMNS, rows),
    ]
    title = (
        f"Scale: MatrixFactorization (BPR) from {rows[0]['interactions']:,} to "
        f"{rows[-1]['interactions']:,} interactions, {device}"
    )
    if allocator:
        title += f", with {allocator}"
    path = write_result(
        name,
        {
            "kind": "scale",
            "title": title,
            "allocator": allocator or "default",
            "protocol": (
                f"fresh process per size; median epoch over {args.epochs - 1} after a "
                f"warm-up, batch {args.batch_size:,}, {args.factors} factors, Adam "
                "lr 1e-3, L2 0.01; plain loop = skorch_overhead.plain_loop; "
                f"windows: the fit and the ranking; {MEMORY_PROTOCOL}"
            ),
            "columns": columns,
            "rows": rows,
            "plot": figure.name,
        },
    )
    print(f"wrote {path} and {figure}")


def write_memory_only(rows: list[dict], args) -> None:
    device = torch.device(args.device).type
    allocator = _allocator_settings()
    # Runs under tuned allocator settings are kept apart from the default's.
    name = f"scale_{device}_memory" + ("_allocator" if allocator else "")
    title = f"Scale: fit peak memory of MatrixFactorization (BPR), {device}"
    if allocator:
        title += f", with {allocator}"
    path = write_result(
        name,
        {
            "kind": "scale_memory",
            "title": title,
            "allocator": allocator or "default",
            "protocol": (
                f"fresh process per size; one epoch, batch {args.batch_size:,}, "
                f"{args.factors} factors, Adam; {MEMORY_PROTOCOL}; plain_*: "
                "skorch_overhead.plain_loop in a fresh process of its own, "
                "same windows, ratios over the same tensors_params_mb"
            ),
            "columns": [
                "interactions",
                "users",
                "items",
                *_present([*MEMORY_COLUMNS, *GPU_COLUMNS, *PLAIN_COLUMNS], rows),
            ],
            "rows": rows,
        },
    )
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=float,
        nargs="+",
        default=[1e5, 1e6, 1e7],
        help="numbers of interactions (1e5 style accepted)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument(
        "--epochs", type=int, default=3, help="timed epochs + 1 warm-up"
    )
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="only the fit's peak memory (epochs: 1), written to "
        "scale_<device>_memory.json: for sizes too slow to time here",
    )
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.memory_only:
        args.epochs = 1
    if args.one is not None:  # the child: measure one size, print it as JSON
        work = measure_plain if args.plain else measure
        print(json.dumps(work(int(args.one), args)), flush=True)
        return

    def child(size: int, *extra: str) -> dict:
        """One size measured in a fresh process."""
        command = [
            sys.executable,
            __file__,
            "--one",
            str(size),
            "--device",
            args.device,
            "--factors",
            str(args.factors),
            "--batch-size",
            str(args.batch_size),
            "--epochs",
            str(args.epochs),
            *(["--memory-only"] if args.memory_only else []),
            *extra,
        ]
        # The child's progress and errors go straight to this stderr.
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode:
            sys.exit(f"size {size:,} failed (its error is above)")
        return json.loads(done.stdout.strip().splitlines()[-1])

    rows = []
    for size in args.sizes:
        row = child(int(size))
        if args.memory_only:
            # The plain loop's memory for reference, in its own process.
            plain = child(int(size), "--plain")
            for name in ("peak", "live", "gpu_peak"):
                if f"plain_{name}_mb" in plain:
                    ratio = plain[f"plain_{name}_mb"] / row["tensors_params_mb"]
                    plain[f"plain_{name}_ratio"] = ratio
            row |= plain
        rows.append(row)
        timing = (
            ""
            if args.memory_only
            else f"epoch {row['fit_epoch_s']:8.3f} s (plain {row['plain_epoch_s']:8.3f}"
            f" s, x{row['ratio_to_plain']:.2f}), rank all {row['rank_all_s']:8.3f} s, "
        )
        live = (
            f", allocated {row['fit_live_mb']:8.1f} MB = {row['fit_live_ratio']:.2f}x"
            if "fit_live_mb" in row
            else ""
        )
        if "fit_gpu_peak_mb" in row:
            live += (
                f", GPU allocated {row['fit_gpu_peak_mb']:8.1f} MB = "
                f"{row['fit_gpu_ratio']:.2f}x"
            )
        if "plain_peak_mb" in row:
            live += f"; plain loop resident {row['plain_peak_ratio']:.2f}x" + (
                f", allocated {row['plain_live_ratio']:.2f}x"
                if "plain_live_ratio" in row
                else ""
            )
        print(
            f"{row['interactions']:>11,} rows: {timing}fit peak resident "
            f"{row['fit_peak_mb']:8.1f} MB = {row['fit_peak_ratio']:.2f}x{live} "
            "tensors+params",
            flush=True,
        )
        # After each size, so that a run stopped part-way keeps what it measured.
        (write_memory_only if args.memory_only else write_timed)(rows, args)


if __name__ == "__main__":
    main()
