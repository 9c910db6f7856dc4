"""Cost of skorch: a MatrixFactorization epoch against the same plain torch loop.

Both sides train the same ``MatrixFactorizationModule`` with the same loss
(MSE, or BPR with one negative per row drawn by the same ``NegativeSampler``,
plus the per-batch L2 penalty, scored by the module's one forward pass),
optimizer (Adam), batch size and data already on the device; the loop
shuffles with one ``randperm`` per epoch. The only difference is skorch's
machinery (callbacks, history, a per-batch ``loss.item()``) and our iterator
(which, above 2**22 rows, computes a keyed permutation batch by batch).
Also times the full-catalog ranking (top-10 for every user) of the trained
model.

Synthetic rows with Zipf-distributed items. Examples::

    python benchmarks/skorch_overhead.py                         # 1M rows, CPU
    python benchmarks/skorch_overhead.py --device cuda --rows 20000000 \\
        --users 138493 --items 26744 --batch-sizes 65536 1048576  # ML-20M shape
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from _common import write_result

from sk_recsys.data import NegativeSampler
from sk_recsys.models import MatrixFactorization
from sk_recsys.nn import MatrixFactorizationModule


def synthetic_rows(n_rows, n_users, n_items, seed=0):
    """Random (user, item, rating) rows; items follow a Zipf(1) popularity."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n_rows)
    weights = 1.0 / np.arange(1, n_items + 1)
    items = rng.choice(n_items, n_rows, p=weights / weights.sum())
    ratings = rng.integers(1, 6, n_rows).astype(np.float64)
    return np.column_stack([users, items]), ratings


def add_shape_arguments(parser) -> None:
    """``--rows``, ``--users``, ``--items``, ``--factors``: the 1M-row default."""
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--factors", type=int, default=64)


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def plain_loop(
    X, y, *, loss, n_users, n_items, n_factors, lr, l2, batch_size, epochs, device
):
    """The floor: the same model trained by a hand-written torch loop."""
    torch.manual_seed(0)
    explicit = loss == "mse"
    module = MatrixFactorizationModule(
        n_users,
        n_items,
        n_factors,
        global_bias=float(y.mean()) if explicit else 0.0,
        user_bias=explicit,
    ).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    users = torch.as_tensor(X[:, 0], device=device)
    items = torch.as_tensor(X[:, 1], device=device)
    ratings = torch.as_tensor(y, dtype=torch.float32, device=device)
    sampler = NegativeSampler(users, items, n_items)
    durations = []
    for _ in range(epochs):
        _sync(device)
        start = time.perf_counter()
        order = torch.randperm(len(users), device=device)
        for begin in range(0, len(users), batch_size):
            rows = order[begin : begin + batch_size]
            u, i = users[rows], items[rows]
            # The L2 term from the rows the scores gathered, as the model does.
            if explicit:
                scores, user_norms, item_norms = module(u, i, norms=True)
                value = torch.nn.functional.mse_loss(scores, ratings[rows])
            else:
                negatives = sampler.sample(u, 1)
                scores, negative, user_norms, item_norms = module(
                    u, i, negatives=negatives, norms=True
                )
                value = -torch.nn.functional.logsigmoid(
                    scores[:, None] - negative
                ).mean()
            value = value + l2 * (user_norms.mean() + item_norms.mean())
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
        _sync(device)
        durations.append(time.perf_counter() - start)
    return durations


def wrapped(X, y, *, loss, n_factors, lr, l2, batch_size, epochs, device):
    model = MatrixFactorization(
        n_factors=n_factors,
        loss=loss,
        n_negatives=1,
        l2=l2,
        lr=lr,
        batch_size=batch_size,
        max_epochs=epochs,
        device=device,
        random_state=0,
    )
    model.fit(X, y if loss == "mse" else None)
    return model, list(model.history[:, "dur"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_shape_arguments(parser)
    parser.add_argument(
        "--epochs", type=int, default=4, help="timed epochs + 1 warm-up"
    )
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=[1024, 8192, 65536, 262144]
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--loss", default="mse", choices=["mse", "bpr"])
    parser.add_argument("--name", default=None, help="results file name")
    args = parser.parse_args()

    X, y = synthetic_rows(args.rows, args.users, args.items)
    common = {
        "loss": args.loss,
        "n_factors": args.factors,
        "lr": 1e-3,
        "l2": 0.1 if args.loss == "mse" else 0.01,
        "epochs": args.epochs,
    }
    rows = []
    model = None
    for batch_size in args.batch_sizes:
        plain = plain_loop(
            X,
            y,
            n_users=args.users,
            n_items=args.items,
            batch_size=batch_size,
            device=args.device,
            **common,
        )
        model, ours = wrapped(X, y, batch_size=batch_size, device=args.device, **common)
        # the first epoch pays for allocations and kernel warm-up on both sides
        plain_s, ours_s = statistics.median(plain[1:]), statistics.median(ours[1:])
        rows.append(
            {
                "batch_size": batch_size,
                "plain_torch_s": plain_s,
                "sk_recsys_s": ours_s,
                "ratio": ours_s / plain_s,
            }
        )
        print(
            f"batch {batch_size:>8}: plain {plain_s:8.3f} s/epoch, sk_recsys "
            f"{ours_s:8.3f} s/epoch, ratio {ours_s / plain_s:5.2f}",
            flush=True,
        )
    users = np.asarray(model.users_)
    model.recommend(users[:1000], k=10)  # warm-up
    _sync(args.device)
    start = time.perf_counter()
    model.recommend(users, k=10)
    _sync(args.device)
    rank_s = time.perf_counter() - start
    print(
        f"full-catalog top-10 for {len(users)} users x {model.n_items_} items: "
        f"{rank_s:.3f} s"
    )
    device = torch.device(args.device).type
    name = args.name or (
        f"skorch_overhead_{args.loss}_{device}_{args.rows // 1_000_000}m"
    )
    path = write_result(
        name,
        {
            "title": (
                f"skorch overhead: MatrixFactorization ({args.loss}) epoch vs plain "
                "torch loop, "
                f"{args.rows:,} rows ({args.users:,} users x {args.items:,} items), "
                f"{device}; full-catalog top-10 for all users: {rank_s:.3f} s"
            ),
            "protocol": (
                f"median epoch time over {args.epochs - 1} epochs after one warm-up; "
                f"{args.loss} + L2 {common['l2']}, Adam lr 1e-3, {args.factors} "
                "factors, same module and negative sampler, data on the device"
            ),
            "columns": ["batch_size", "plain_torch_s", "sk_recsys_s", "ratio"],
            "rows": rows,
            "rank_all_users_s": rank_s,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
