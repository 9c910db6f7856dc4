"""The whole ``fit`` call against the whole hand-written torch script.

What a new user times: ``MatrixFactorization(...).fit(df[["user", "item"]],
df["rating"])`` on a pandas DataFrame with integer ids, from the call to the
trained model (validation, id encoding, the interaction matrix, module and
optimizer set-up, every epoch), against a script written by hand for the
same work: ``pd.factorize`` both id columns, tensors, an embedding + bias
model, Adam, ``randperm`` batches, MSE (plus, in the ``--l2`` table, the same
penalty the model adds: ``l2`` times the mean squared norm of the batch's
user and item vectors).

The two run alternately, ``--pairs`` times, in one process after one
untimed warm-up of each; the table reports each side's median and the
median of the per-pair ratios. ``--profile`` prints where our ``fit`` spends
its time (cProfile, cumulative) instead. Examples::

    python benchmarks/whole_fit.py                         # l2=0, both batches
    python benchmarks/whole_fit.py --l2 0.1 --name whole_fit_l2_cpu_1m
    python benchmarks/whole_fit.py --profile --batch-sizes 8192
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

import pandas as pd
import torch
from _common import write_result
from skorch_overhead import add_shape_arguments, synthetic_rows

from sk_recsys.models import MatrixFactorization


def synthetic_frame(n_rows, n_users, n_items, seed=0) -> pd.DataFrame:
    """``skorch_overhead.synthetic_rows`` (Zipf(1) items, ratings 1-5) as the
    DataFrame with integer ids that a user would hand to ``fit``."""
    X, y = synthetic_rows(n_rows, n_users, n_items, seed)
    return pd.DataFrame({"user": X[:, 0], "item": X[:, 1], "rating": y})


class _HandModel(torch.nn.Module):
    """Embeddings and biases, as a user would write them."""

    def __init__(self, n_users, n_items, n_factors, mean):
        super().__init__()
        self.user = torch.nn.Embedding(n_users, n_factors)
        self.item = torch.nn.Embedding(n_items, n_factors)
        self.user_bias = torch.nn.Embedding(n_users, 1)
        self.item_bias = torch.nn.Embedding(n_items, 1)
        for table in (self.user, self.item):
            torch.nn.init.normal_(table.weight, std=0.01)
        for table in (self.user_bias, self.item_bias):
            torch.nn.init.zeros_(table.weight)
        self.mean = mean

    def forward(self, users, items):
        p, q = self.user(users), self.item(items)
        scores = (p * q).sum(-1) + self.user_bias(users)[:, 0]
        return scores + self.item_bias(items)[:, 0] + self.mean, p, q


def hand_written(df, *, n_factors, lr, l2, batch_size, epochs):
    """The whole script: factorize, tensors, model, Adam, randperm batches."""
    torch.manual_seed(0)
    user_codes, users_index = pd.factorize(df["user"])
    item_codes, items_index = pd.factorize(df["item"])
    users = torch.from_numpy(user_codes)
    items = torch.from_numpy(item_codes)
    ratings = torch.tensor(df["rating"].to_numpy(), dtype=torch.float32)
    model = _HandModel(
        len(users_index), len(items_index), n_factors, float(ratings.mean())
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(users))
        for begin in range(0, len(users), batch_size):
            rows = order[begin : begin + batch_size]
            scores, p, q = model(users[rows], items[rows])
            loss = torch.nn.functional.mse_loss(scores, ratings[rows])
            if l2:
                loss = loss + l2 * ((p * p).sum(-1).mean() + (q * q).sum(-1).mean())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def ours(df, *, n_factors, lr, l2, batch_size, epochs):
    return MatrixFactorization(
        n_factors=n_factors,
        loss="mse",
        l2=l2,
        lr=lr,
        batch_size=batch_size,
        max_epochs=epochs,
        random_state=0,
    ).fit(df[["user", "item"]], df["rating"])


def _timed(fn, df, **kwargs) -> float:
    start = time.perf_counter()
    fn(df, **kwargs)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_shape_arguments(parser)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[65536, 8192])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--name", default=None, help="results file name")
    args = parser.parse_args()

    df = synthetic_frame(args.rows, args.users, args.items)
    common = {"n_factors": args.factors, "lr": args.lr, "l2": args.l2}
    if args.profile:
        for batch_size in args.batch_sizes:
            kwargs = {**common, "batch_size": batch_size, "epochs": args.epochs}
            ours(df, **{**kwargs, "epochs": 1})  # warm-up
            profiler = cProfile.Profile()
            profiler.runcall(ours, df, **kwargs)
            print(f"--- batch {batch_size}")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        return
    rows = []
    for batch_size in args.batch_sizes:
        kwargs = {**common, "batch_size": batch_size, "epochs": args.epochs}
        hand_written(df, **{**kwargs, "epochs": 1})  # warm-up, both sides
        ours(df, **{**kwargs, "epochs": 1})
        hand, mine = [], []
        for _ in range(args.pairs):
            hand.append(_timed(hand_written, df, **kwargs))
            mine.append(_timed(ours, df, **kwargs))
        ratios = [m / h for m, h in zip(mine, hand, strict=True)]
        row = {
            "batch_size": batch_size,
            "hand_written_s": statistics.median(hand),
            "sk_recsys_fit_s": statistics.median(mine),
            "median_ratio": statistics.median(ratios),
            "ratios": " ".join(f"{r:.2f}" for r in ratios),
        }
        rows.append(row)
        print(
            f"batch {batch_size:>7}: hand-written {row['hand_written_s']:.2f} s, "
            f"fit {row['sk_recsys_fit_s']:.2f} s, ratio {row['median_ratio']:.3f} "
            f"(pairs: {row['ratios']})",
            flush=True,
        )
    name = args.name or (
        f"whole_fit{'_l2' if args.l2 else ''}_cpu_{args.rows // 1_000_000}m"
    )
    path = write_result(
        name,
        {
            "title": (
                f"Whole fit: MatrixFactorization(loss='mse', l2={args.l2:g}).fit "
                f"vs the hand-written torch script, {args.rows:,} rows "
                f"({args.users:,} users x {args.items:,} Zipf items), CPU"
            ),
            "protocol": (
                f"{args.epochs} epochs, {args.factors} factors, Adam lr {args.lr:g}, "
                f"l2 {args.l2:g} on both sides; pandas DataFrame with int ids to "
                f"trained model; {args.pairs} alternating pairs after one warm-up "
                "each, medians and the median per-pair ratio"
            ),
            "columns": [
                "batch_size",
                "hand_written_s",
                "sk_recsys_fit_s",
                "median_ratio",
                "ratios",
            ],
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
