"""Where an MF training epoch makes the host wait for the GPU, and what it costs.

On a GPU a step's kernels are queued by the host and run while the host
queues the next step's, unless something makes the host wait for the device
(a ``.item()``, a copy from the device, a boolean mask's size). This script
times an epoch of ``MatrixFactorization`` (BPR, the settings of
``scale.py``) seeded (``random_state=0``, which also selects torch's
deterministic kernels during fit) and unseeded, and the plain torch loop of
``skorch_overhead.py``; then it runs one epoch of each again under
``torch.cuda.set_sync_debug_mode("warn")`` and counts the synchronising
calls by the innermost frame of sk_recsys, skorch or this directory that
made them (a count near the number of batches is a per-step wait). Meant
for a CUDA device; ``--device cpu`` is a dry run (times and other warnings,
no synchronisations to count)::

    python benchmarks/gpu_syncs.py --rows 20000000
    python benchmarks/gpu_syncs.py --rows 1e5 --device cpu

It writes nothing: read its output (``gpu.sh`` keeps it in ``gpu.log``).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import traceback
import warnings

import numpy as np
import torch
from scale import interactions
from skorch_overhead import plain_loop

from sk_recsys.models import MatrixFactorization

OURS = ("sk_recsys", "skorch", "benchmarks")


def _site() -> str:
    """The innermost frame of our code (or skorch's) on the current stack."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if any(f"/{part}/" in frame.filename for part in OURS):
            path = "/".join(frame.filename.split("/")[-2:])
            return f"{path}:{frame.lineno} {frame.line}"
    return "elsewhere"


def count_warnings(run, device="cuda") -> collections.Counter:
    """Run ``run()``; count its warnings by kind and call site.

    The kinds: ``sync`` (a synchronising call, under the sync debug mode),
    ``nondeterministic`` (an op without a deterministic kernel, warned about
    in a seeded fit), else the message's start.
    """
    sites = collections.Counter()
    shown = warnings.showwarning

    def record(message, category, *args, **kwargs):
        text = str(message)
        if "synchroniz" in text:
            kind = "sync"
        elif "deterministic" in text:
            kind = "nondeterministic"
        else:
            kind = text[:60]
        sites[f"{kind}: {_site()}"] += 1

    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        if cuda:
            torch.cuda.set_sync_debug_mode("warn")
        try:
            run()
        finally:
            if cuda:
                torch.cuda.set_sync_debug_mode("default")
            warnings.showwarning = shown
    return sites


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=float, default=2e7)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--epochs", type=int, default=3, help="timed + 1 warm-up")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = args.device
    n_rows = int(args.rows)
    X, n_users, n_items = interactions(n_rows, device=device)
    settings = {
        "loss": "bpr",
        "n_negatives": 1,
        "n_factors": 64,
        "lr": 1e-3,
        "l2": 0.01,
        "batch_size": args.batch_size,
        "device": device,
    }
    n_batches = -(-n_rows // args.batch_size)
    print(f"{n_rows:,} rows, {n_batches} batches an epoch", flush=True)

    def ours(random_state, epochs):
        model = MatrixFactorization(
            max_epochs=epochs, random_state=random_state, **settings
        )
        return list(model.fit(X).history[:, "dur"])

    def plain(epochs):
        return plain_loop(
            X,
            np.ones(n_rows, dtype=np.float32),
            loss="bpr",
            n_users=n_users,
            n_items=n_items,
            n_factors=64,
            lr=1e-3,
            l2=0.01,
            batch_size=args.batch_size,
            epochs=epochs,
            device=device,
        )

    runs = {
        "plain loop": lambda epochs: plain(epochs),
        "ours, random_state=0": lambda epochs: ours(0, epochs),
        "ours, random_state=None": lambda epochs: ours(None, epochs),
    }
    for name, run in runs.items():
        seconds = statistics.median(run(args.epochs)[1:])
        print(f"{name:>24}: {seconds:.3f} s an epoch", flush=True)
    for name, run in runs.items():
        sites = count_warnings(lambda run=run: run(1), device)
        syncs = sum(n for site, n in sites.items() if site.startswith("sync:"))
        print(f"{name}: {syncs} synchronisations in one epoch; warnings by site:")
        for site, count in sites.most_common(15):
            print(f"    {count:7d}  {site}")


if __name__ == "__main__":
    main()
