"""Torch operations and host read-backs per training step: fit vs plain loop.

On a GPU a step's cost is mostly the host queueing its kernels, so the
number of torch operations a step issues, and the operations that make the
host wait for the device (``nonzero`` and other data-dependent shapes,
``.item()``), tell where a fit spends more than the plain torch loop of
``skorch_overhead.py`` before any GPU is at hand. This script counts them
with torch's profiler over one epoch (after a warm-up epoch) of
``MatrixFactorization`` (BPR, seeded and unseeded) and of the plain loop,
on synthetic data from ``scale.py``.

``--as-accelerator`` runs the code paths a GPU takes on the CPU (the
sampler's masked rounds, the keyed order read 2**20 positions at a time,
the losses kept on the device until the epoch ends) by making
``sk_recsys.utils._device.asynchronous`` answer True: the counts are then
those a GPU would issue, up to the kernels a GPU library chooses. On the
CPU a read-back does not wait for anything; ``item`` also counts Adam
reading the step counter of each parameter, a CPU tensor on every device.

Writes ``results/step_ops_<device>[_as_accelerator].json``. Examples::

    python benchmarks/step_ops.py --as-accelerator    # 5e6 rows, GPU paths
    python benchmarks/step_ops.py --rows 3e6          # CPU paths, stored order
    python benchmarks/step_ops.py --device cuda
"""

from __future__ import annotations

import argparse
import collections

import numpy as np
import torch
from _common import write_result
from scale import interactions
from skorch_overhead import plain_loop
from torch.profiler import ProfilerActivity, profile

from sk_recsys.models import MatrixFactorization
from sk_recsys.utils import _device

# Operations whose result's size or value the host must read back.
READ_BACKS = ("aten::nonzero", "aten::_local_scalar_dense")


def count_ops(work) -> collections.Counter:
    """How many times each ``aten::`` operation ran in ``work()``."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        work()
    return collections.Counter(
        event.name for event in prof.events() if event.name.startswith("aten::")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=float, default=5e6)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--as-accelerator",
        action="store_true",
        help="take the code paths of an accelerator on the CPU",
    )
    args = parser.parse_args()
    if args.as_accelerator:
        _device.asynchronous = lambda device: True

    n_rows = int(args.rows)
    X, n_users, n_items = interactions(n_rows, device=args.device)
    steps = -(-n_rows // args.batch_size)
    common = {"n_factors": args.factors, "lr": 1e-3, "l2": 0.01}

    def fit(**extra):
        MatrixFactorization(
            loss="bpr",
            n_negatives=1,
            batch_size=args.batch_size,
            max_epochs=1,
            device=args.device,
            **common,
            **extra,
        ).fit(X)

    def plain():
        plain_loop(
            X,
            np.ones(n_rows, dtype=np.float32),
            loss="bpr",
            n_users=n_users,
            n_items=n_items,
            batch_size=args.batch_size,
            epochs=1,
            device=args.device,
            **common,
        )

    variants = {
        "fit, random_state=0": lambda: fit(random_state=0),
        "fit, unseeded": fit,
        "plain loop": plain,
    }
    counts = {}
    for name, work in variants.items():
        work()  # warm-up: lazy imports, first-call paths
        counts[name] = count_ops(work)
        print(f"{name}: {sum(counts[name].values()) / steps:.1f} ops a step")

    baseline = counts["plain loop"]
    rows = []
    for name, counted in counts.items():
        added = sorted(
            ((op, (counted[op] - baseline[op]) / steps) for op in counted | baseline),
            key=lambda pair: -pair[1],
        )
        rows.append(
            {
                "variant": name,
                "ops per step": sum(counted.values()) / steps,
                "vs plain loop": (sum(counted.values()) - sum(baseline.values()))
                / steps,
                **{
                    f"{op.removeprefix('aten::')} per step": counted[op] / steps
                    for op in READ_BACKS
                },
                "most added ops per step": ", ".join(
                    f"{op.removeprefix('aten::')} {delta:+.1f}"
                    for op, delta in added[:5]
                    if delta >= 0.5
                )
                or "-",
            }
        )
    device = torch.device(args.device).type
    paths = " with the accelerator code paths" if args.as_accelerator else ""
    name = f"step_ops_{device}" + ("_as_accelerator" if args.as_accelerator else "")
    path = write_result(
        name,
        {
            "kind": "step_ops",
            "title": (
                f"Torch operations per training step, {n_rows:,} rows, {device}{paths}"
            ),
            "protocol": (
                f"MatrixFactorization BPR, batch {args.batch_size:,}, "
                f"{args.factors} factors, Adam; {steps} steps; torch profiler "
                "over one epoch after a warm-up epoch, every aten:: operation "
                "counted (nested ones too); nonzero and _local_scalar_dense "
                "(.item()) read a result back to the host, which waits for "
                "an accelerator (Adam's step counter is a CPU tensor)"
            ),
            "columns": [
                "variant",
                "ops per step",
                "vs plain loop",
                *(f"{op.removeprefix('aten::')} per step" for op in READ_BACKS),
                "most added ops per step",
            ],
            "formats": {
                "ops per step": ".1f",
                "vs plain loop": "+.1f",
                **{f"{op.removeprefix('aten::')} per step": ".2f" for op in READ_BACKS},
            },
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
