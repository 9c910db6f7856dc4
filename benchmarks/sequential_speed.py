"""Epoch time and peak memory of the sequential models, beside skrecsys's.

Trains ``SASRec`` (and ``GRU4Rec`` with ``--models``) for ``--epochs`` timed
epochs after one warm-up epoch, on

* ``--data ml100k-loo`` / ``ml1m-subset-loo``: the training rows of the
  suite's leave-last-out datasets, or
* ``--data synthetic``: browsing sequences (each item has three likely
  successors) at ML-1M shape (6,040 users, 3,706 items, 1M rows) times
  ``--scale``.

With ``--peers`` it also times skrecsys's ``HSTU`` and ``Mamba4Rec`` at
the same embedding size, ``max_len`` and number of epochs on the same
rows (fit time / epochs, early stopping off; their fit includes their own
set-up, which a warm-up cannot separate, so their epoch times read
slightly high on short runs). Peak memory: on a GPU the allocator's peak
during training, on the CPU the process's peak resident size. Results go to
``results/sequential_speed_<data>_<device>.json``.

Run: ``python -m benchmarks.sequential_speed --data ml100k-loo --peers``;
``python -m benchmarks.sequential_speed --data synthetic --scale 1 10
--device cuda`` (the GPU stage of ``gpu.sh``).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common, suite


class EpochTimer(Callback):
    """Wall time of every epoch, the device synchronised at both ends."""

    def initialize(self):
        self.times_ = []
        return self

    def _sync(self, net):
        if str(net.device).startswith("cuda"):
            torch.cuda.synchronize()

    def on_epoch_begin(self, net, **kwargs):
        self._sync(net)
        self.start_ = time.perf_counter()

    def on_epoch_end(self, net, **kwargs):
        self._sync(net)
        self.times_.append(time.perf_counter() - self.start_)


def browsing(n_users, n_items, n_rows, seed=0):
    """Sequences of skewed lengths following an item-to-item Markov chain."""
    rng = np.random.default_rng(seed)
    lengths = rng.lognormal(0.0, 0.8, n_users)
    lengths = np.maximum(2, np.round(lengths / lengths.sum() * n_rows)).astype(int)
    users = np.repeat(np.arange(n_users), lengths)
    position = np.arange(len(users)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    successors = rng.integers(n_items, size=(n_items, 3))
    items = np.empty(len(users), dtype=np.int64)
    first = position == 0
    items[first] = rng.integers(n_items, size=first.sum())
    for t in range(1, int(lengths.max())):
        at = np.flatnonzero(position == t)
        follow = successors[items[at - 1], rng.integers(3, size=len(at))]
        jump = rng.integers(n_items, size=len(at))
        items[at] = np.where(rng.random(len(at)) < 0.8, follow, jump)
    return pd.DataFrame({"user": users, "item": items, "time": position})


def rows_for(data: str, scale: float) -> pd.DataFrame:
    if data == "synthetic":
        return browsing(
            int(6040 * scale), int(3706 * scale), int(1_000_209 * scale), seed=0
        )
    config = suite.load_config()
    fold = suite.load_folds(config["datasets"][data], _common.data_home())[0]
    return fold.train[["user", "item", "time"]]


def time_ours(name, X, args):
    from sk_recsys import get_model

    timer = EpochTimer()
    model = get_model(
        name,
        n_factors=args.n_factors,
        max_len=args.max_len,
        max_epochs=args.epochs + 1,
        device=args.device,
        random_state=0,
        callbacks=[timer],
    )
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - start
    peak = (
        torch.cuda.max_memory_allocated()
        if args.device.startswith("cuda")
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    return {
        "library": "sk_recsys",
        "model": name,
        "epoch_s": float(np.mean(timer.times_[1:])),
        "first_epoch_s": timer.times_[0],
        "fit_s": fit_s,
        "peak_bytes": int(peak),
        "loss": model.loss,
        "n_negatives": model.n_negatives,
    }


def time_peer(name, X, args):
    from skrecsys import nn

    params = {"n_factors": args.n_factors, "max_sequence_length": args.max_len}
    model = getattr(nn, name)(
        **params,
        max_iter=args.epochs,
        early_stopping=False,
        random_state=0,
        device=args.device,
    )
    ordered = X.iloc[np.argsort(X["time"].to_numpy(), kind="stable")]
    start = time.perf_counter()
    model.fit(ordered[["user", "item"]].to_numpy())
    fit_s = time.perf_counter() - start
    n_iter = int(model.n_iter_)
    return {
        "library": "skrecsys",
        "model": name,
        "epoch_s": fit_s / n_iter,
        "fit_s": fit_s,
        "n_iter": n_iter,
        "peak_bytes": None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="ml100k-loo")
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0])
    parser.add_argument("--models", nargs="+", default=["sasrec"])
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--n-factors", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    scales = args.scale if args.data == "synthetic" else [1.0]
    rows = []
    for scale in scales:
        X = rows_for(args.data, scale)
        shape = {
            "scale": scale,
            "n_rows": len(X),
            "n_users": int(X["user"].nunique()),
            "n_items": int(X["item"].nunique()),
        }
        print(f"{args.data} x{scale}: {shape}", flush=True)
        runs = [(time_ours, name) for name in args.models]
        if args.peers:
            runs += [(time_peer, "HSTU"), (time_peer, "Mamba4Rec")]
        for function, name in runs:
            row = {**shape, **function(name, X, args)}
            if row["peak_bytes"]:
                row["peak_gib"] = row["peak_bytes"] / 2**30
            rows.append(row)
            peak = row["peak_bytes"]
            print(
                f"  {row['library']:<9} {name:<10} {row['epoch_s']:8.2f} s/epoch"
                + (f"  peak {peak / 2**30:.2f} GiB" if peak else ""),
                flush=True,
            )
            _common.write_result(
                f"sequential_speed_{args.data}_{args.device.split(':')[0]}",
                {
                    "title": f"Sequential models: epoch time on {args.data}, "
                    f"{args.device.split(':')[0]}",
                    "protocol": (
                        f"n_factors {args.n_factors}, max_len {args.max_len}; "
                        f"mean of {args.epochs} epochs after a warm-up one "
                        "(skrecsys: fit time / epochs); peak: GPU allocator or "
                        "process resident size"
                    ),
                    "columns": [
                        "library",
                        "model",
                        "scale",
                        "n_rows",
                        "n_users",
                        "n_items",
                        "epoch_s",
                        "peak_gib",
                    ],
                    "formats": {"epoch_s": ".2f", "peak_gib": ".2f", "scale": "g"},
                    "data": args.data,
                    "device": args.device,
                    "n_factors": args.n_factors,
                    "max_len": args.max_len,
                    "epochs_timed": args.epochs,
                    "torch_threads": torch.get_num_threads(),
                    "rows": rows,
                },
            )


if __name__ == "__main__":
    main()
