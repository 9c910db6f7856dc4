"""Hyperparameters of the sequential models, chosen on validation, never on test.

For each leave-last-out dataset of the suite (``ml100k-loo``,
``ml1m-subset-loo``), the validation fold takes each user's latest
*training* row (:func:`suite.validation_fold`, the second-to-last item of
the full sequence); the test item is never read. Every configuration of
``GRIDS`` is fitted on the rest of the training rows for ``--max-epochs``
epochs, and its validation NDCG@10 (our scorer: full catalog, training
items excluded) is recorded every ``--every`` epochs. The best
(configuration, number of epochs) per model is the one the suite's
``sasrec`` / ``gru4rec`` entries use (``suite.toml`` says which run chose
them). Results go to ``results/sequential_selection_<dataset>.json``; a
rerun skips the configurations already measured on this machine.

Run: ``python -m benchmarks.sequential_selection --datasets ml100k-loo
[--models sasrec gru4rec] [--max-epochs 100] [--every 5] [--first N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common, suite

# Each entry: the parameters that differ from the model's defaults. Every
# configuration reads up to 200 items (all of a MovieLens-100K user's
# history, most of an ML-1M user's) unless it says otherwise.
GRIDS = {
    "sasrec": [
        {"loss": "softmax", "n_negatives": None},
        {"loss": "gbce", "n_negatives": 256, "gbce_t": 0.75},
        {"loss": "bce"},
        {"loss": "softmax", "n_negatives": None, "dropout": 0.5},
        {"loss": "softmax", "n_negatives": 256},
    ],
    "gru4rec": [
        {"loss": "softmax", "n_negatives": None},
        {"loss": "softmax", "n_negatives": None, "dropout": 0.5},
    ],
}
BASE = {"max_len": 200, "random_state": 0}


class ValidationCurve(Callback):
    """Validation NDCG@10 and HR@10 every ``every`` epochs, and epoch times."""

    def __init__(self, X_valid, every):
        self.X_valid = X_valid
        self.every = every

    def initialize(self):
        self.points_ = []
        self.epoch_s_ = []
        self.scoring_s_ = 0.0
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.start_ = time.perf_counter()

    def on_epoch_end(self, net, **kwargs):
        self.epoch_s_.append(time.perf_counter() - self.start_)
        epoch = len(net.history)
        if epoch % self.every:
            return
        from sk_recsys.metrics import get_scorer

        start = time.perf_counter()
        values = {
            name: float(get_scorer(name)(net, self.X_valid))
            for name in ("ndcg@10", "hit_rate@10")
        }
        self.scoring_s_ += time.perf_counter() - start
        self.points_.append({"epoch": epoch, **values})
        print(
            f"    epoch {epoch:>4} valid ndcg@10 {values['ndcg@10']:.4f} "
            f"hr@10 {values['hit_rate@10']:.4f}",
            flush=True,
        )


def key(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


def select(dataset_name, models, max_epochs, every, first=None):
    from sk_recsys import get_model

    config = suite.load_config()
    fold = suite.load_folds(config["datasets"][dataset_name], _common.data_home())[0]
    valid = suite.validation_fold(fold)
    X_train = valid.train[["user", "item", "time"]]
    X_valid = valid.test[["user", "item", "time"]]
    name = f"sequential_selection_{dataset_name}"
    path = _common.RESULTS / f"{name}.json"
    machine = _common.machine()
    rows = []
    if path.exists():
        stored = json.loads(path.read_text())
        if suite.machine_key(stored["machine"]) == suite.machine_key(machine):
            rows = stored["rows"]
    done = {(row["model"], key(row["params"])) for row in rows}
    print(
        f"{dataset_name}: {len(valid.train)} training rows, "
        f"{valid.test['user'].nunique()} validation users, {fold.n_items} items"
    )
    for model_name in models:
        for grid_params in GRIDS[model_name][:first]:
            params = {**BASE, **grid_params, "max_epochs": max_epochs}
            if (model_name, key(params)) in done:
                continue
            print(f"  {model_name} {grid_params}", flush=True)
            curve = ValidationCurve(X_valid, every)
            model = get_model(model_name, **params, callbacks=[curve], verbose=0)
            start = time.perf_counter()
            model.fit(X_train)
            fit_s = time.perf_counter() - start - curve.scoring_s_
            best = max(curve.points_, key=lambda p: p["ndcg@10"])
            rows.append(
                {
                    "model": model_name,
                    "configuration": _shown(params),
                    "params": params,
                    "curve": curve.points_,
                    "best_epoch": best["epoch"],
                    "best_ndcg@10": best["ndcg@10"],
                    "best_hit_rate@10": best["hit_rate@10"],
                    "fit_s": fit_s,
                    "mean_epoch_s": float(np.mean(curve.epoch_s_)),
                }
            )
            _write(name, dataset_name, rows, every, max_epochs)
    if rows:
        _write(name, dataset_name, rows, every, max_epochs)
    print_table(dataset_name, rows)
    return rows


def _write(name, dataset_name, rows, every, max_epochs):
    for row in rows:
        row.setdefault("configuration", _shown(row["params"]))
    _common.write_result(
        name,
        {
            "title": f"Sequential models: validation on {dataset_name}",
            "dataset": dataset_name,
            "protocol": (
                "each user's latest training row is the validation item (the "
                "test item is never read); full catalog, training items "
                f"excluded; best epoch of a curve measured every {every} "
                f"epochs; max_epochs {max_epochs}, seed 0"
            ),
            "columns": [
                "model",
                "configuration",
                "best_epoch",
                "best_ndcg@10",
                "best_hit_rate@10",
                "mean_epoch_s",
                "fit_s",
            ],
            "formats": {"mean_epoch_s": ".2f", "fit_s": ".0f"},
            "torch_threads": torch.get_num_threads(),
            "rows": rows,
            "best": _best(rows),
        },
    )


def _best(rows):
    """Per model, the configuration and epoch count with the best validation NDCG."""
    best = {}
    for row in rows:
        current = best.get(row["model"])
        if current is None or row["best_ndcg@10"] > current["best_ndcg@10"]:
            best[row["model"]] = row
    return {
        model: {
            "params": {**row["params"], "max_epochs": row["best_epoch"]},
            "valid_ndcg@10": row["best_ndcg@10"],
        }
        for model, row in best.items()
    }


def _shown(params: dict) -> str:
    """The parameters of a configuration, as a short text."""
    return ", ".join(
        f"{k}={v}" for k, v in params.items() if k not in ("random_state", "max_epochs")
    )


def print_table(dataset_name, rows):
    print(f"\n{dataset_name} (validation: each user's latest training row)")
    print(f"{'model':<9} {'configuration':<62} {'epoch':>5} {'NDCG':>7} {'s/ep':>6}")
    for row in rows:
        shown = _shown(row["params"])[:62]
        print(
            f"{row['model']:<9} {shown:<62} {row['best_epoch']:>5} "
            f"{row['best_ndcg@10']:>7.4f} {row['mean_epoch_s']:>6.2f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=["ml100k-loo"])
    parser.add_argument("--models", nargs="+", default=list(GRIDS))
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument(
        "--first", type=int, default=None, help="only the first N configurations"
    )
    args = parser.parse_args(argv)
    for dataset_name in args.datasets:
        select(dataset_name, args.models, args.max_epochs, args.every, args.first)


if __name__ == "__main__":
    main()
