"""Hyperparameters chosen on a validation split of the training rows, never on test.

The machinery shared by the selection scripts (``sequential_selection``,
``baseline_selection``): for one dataset of the suite, the validation fold
is carved from the training rows (:func:`suite.validation_fold`: each user's
latest training row on a leave-last-out dataset, a seeded 10% of each
user's training rows otherwise); the test rows are never read. Every
configuration of a model's grid is fitted on the rest and scored by our
NDCG@10 scorer (full catalog, training items excluded). A model trained
through skorch is scored every ``every`` epochs up to ``max_epochs``, and
its best epoch becomes its ``max_epochs``; any other model is scored once.

Results go to ``results/<script>_<dataset>.json``: every configuration's
row (with its curve and the command that measured it) and, under ``best``,
the chosen parameters per model, which the suite's entries with ``tuned =
"<script>"`` read. A rerun skips the configurations already measured (on
any machine: each row names the machine its times come from); runs of one
dataset may go in parallel (one per core), since each write merges with
what is stored.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from skorch.callbacks import Callback

from benchmarks import _common, suite


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
        start = time.perf_counter()
        values = _scores(net, self.X_valid)
        self.scoring_s_ += time.perf_counter() - start
        self.points_.append({"epoch": epoch, **values})
        print(
            f"    epoch {epoch:>4} valid ndcg@10 {values['ndcg@10']:.4f} "
            f"hr@10 {values['hit_rate@10']:.4f}",
            flush=True,
        )


def _scores(model, X_valid) -> dict:
    from sk_recsys.metrics import get_scorer

    return {
        name: float(get_scorer(name)(model, X_valid))
        for name in ("ndcg@10", "hit_rate@10")
    }


def key(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


def shown(params: dict) -> str:
    """The parameters of a configuration, as a short text."""
    return ", ".join(
        f"{k}={v}" for k, v in params.items() if k not in ("random_state", "max_epochs")
    )


def stored_rows(path) -> list[dict]:
    """The rows already measured, on any machine, each naming its machine.

    A configuration's validation scores do not depend on the machine, so
    one measured anywhere is not measured again; its times do, so each row
    keeps the key of the machine that measured it (``machine_key``; a row
    of a file older than that field gets the file's machine).
    """
    if not path.exists():
        return []
    stored = json.loads(path.read_text())
    for row in stored["rows"]:
        row.setdefault("machine_key", suite.machine_key(stored["machine"]))
    return stored["rows"]


def _neural(model) -> bool:
    from sk_recsys.models import NeuralRecommender

    return isinstance(model, NeuralRecommender)


def measure(model_name, params, X_train, X_valid, every) -> dict:
    """Fit one configuration; its validation scores (a curve if neural)."""
    from sk_recsys import get_model

    model = get_model(model_name, **params)
    neural = _neural(model)
    if neural:
        curve = ValidationCurve(X_valid, every)
        model.set_params(callbacks=[curve], verbose=0)
    with _common.Stopwatch() as watch:
        model.fit(X_train)
    fit_s = watch.seconds
    if not neural:
        values = _scores(model, X_valid)
        print(f"    valid ndcg@10 {values['ndcg@10']:.4f} fit {fit_s:.1f} s")
        return {
            "curve": None,
            "best_epoch": None,
            "best_ndcg@10": values["ndcg@10"],
            "best_hit_rate@10": values["hit_rate@10"],
            "fit_s": fit_s,
            "mean_epoch_s": None,
            "others_busy_cores": watch.others_busy_cores,
        }
    best = max(curve.points_, key=lambda p: p["ndcg@10"])
    return {
        "curve": curve.points_,
        "best_epoch": best["epoch"],
        "best_ndcg@10": best["ndcg@10"],
        "best_hit_rate@10": best["hit_rate@10"],
        "fit_s": fit_s - curve.scoring_s_,
        "mean_epoch_s": float(np.mean(curve.epoch_s_)),
        "others_busy_cores": watch.others_busy_cores,
    }


def select(
    script,
    dataset_name,
    grids,
    models,
    *,
    base=None,
    max_epochs=None,
    every=5,
    first=None,
    configs=None,
):
    """Measure the grids of ``models`` on ``dataset_name``'s validation fold."""
    config = suite.load_config()
    fold = suite.load_folds(config["datasets"][dataset_name], _common.data_home())[0]
    valid = suite.validation_fold(fold)
    columns = ["user", "item", "time"] if "time" in valid.train else ["user", "item"]
    X_train, X_valid = valid.train[columns], valid.test[columns]
    name = f"{script}_{dataset_name}"
    path = _common.RESULTS / f"{name}.json"
    rows = stored_rows(path)
    done = {(row["model"], key(row["params"])) for row in rows}
    print(
        f"{dataset_name}: {len(valid.train)} training rows, "
        f"{valid.test['user'].nunique()} validation users, {fold.n_items} items"
    )
    for model_name in models:
        grid = grids[model_name]
        chosen = range(len(grid))[:first] if configs is None else configs
        for grid_params in [grid[i] for i in chosen]:
            params = {**(base or {}).get(model_name, {}), **grid_params}
            if max_epochs is not None and _takes_epochs(model_name):
                params["max_epochs"] = max_epochs
            if (model_name, key(params)) in done:
                continue
            print(f"  {model_name} {grid_params}", flush=True)
            measured = measure(model_name, params, X_train, X_valid, every)
            rows.append(
                {
                    "model": model_name,
                    "configuration": shown(params),
                    "params": params,
                    **measured,
                    "command": _common.command(),
                    "machine_key": suite.machine_key(_common.machine()),
                    # the file's machine is its last writer's: times need their own
                    "torch_threads": torch.get_num_threads(),
                }
            )
            write(name, dataset_name, rows, every)
    if rows:
        write(name, dataset_name, rows, every)
    print_table(dataset_name, rows)
    return rows


def _takes_epochs(model_name) -> bool:
    from sk_recsys import get_model

    return "max_epochs" in get_model(model_name).get_params()


def write(name, dataset_name, rows, every):
    # Merge with what another process may have written since this one
    # started.
    path = _common.RESULTS / f"{name}.json"
    merged = {(row["model"], key(row["params"])): row for row in rows}
    for row in stored_rows(path):
        merged.setdefault((row["model"], key(row["params"])), row)
    rows[:] = list(merged.values())
    for row in rows:
        row.setdefault("configuration", shown(row["params"]))
    # times measured on different machines do not compare: each row says
    mixed = len({row["machine_key"] for row in rows}) > 1
    _common.write_result(
        name,
        {
            "title": f"Validation on {dataset_name}",
            "dataset": dataset_name,
            "protocol": (
                "validation rows carved from the training rows (the test rows "
                "are never read): each user's latest training row on a "
                "leave-last-out dataset, a seeded 10% of each user's training "
                "rows otherwise; full catalog, training items excluded; a "
                f"neural model's curve is measured every {every} epochs and "
                "its best epoch kept; seed 0"
            ),
            "columns": [
                "model",
                "configuration",
                "best_epoch",
                "best_ndcg@10",
                "best_hit_rate@10",
                "mean_epoch_s",
                "fit_s",
                *(["machine_key"] if mixed else []),
            ],
            "formats": {"mean_epoch_s": ".2f", "fit_s": ".0f"},
            "torch_threads": torch.get_num_threads(),
            "rows": rows,
            "best": best(rows),
        },
    )


def best(rows):
    """Per model, the configuration (and epoch count) with the best NDCG@10."""
    chosen = {}
    for row in rows:
        current = chosen.get(row["model"])
        if current is None or row["best_ndcg@10"] > current["best_ndcg@10"]:
            chosen[row["model"]] = row
    out = {}
    for model, row in chosen.items():
        params = dict(row["params"])
        if row.get("best_epoch") is not None:
            params["max_epochs"] = row["best_epoch"]
        out[model] = {"params": params, "valid_ndcg@10": row["best_ndcg@10"]}
    return out


def print_table(dataset_name, rows):
    print(f"\n{dataset_name} (validation split of the training rows)")
    print(f"{'model':<9} {'configuration':<62} {'epoch':>5} {'NDCG':>7} {'fit s':>7}")
    for row in rows:
        epoch = row.get("best_epoch")
        print(
            f"{row['model']:<9} {shown(row['params'])[:62]:<62} "
            f"{'' if epoch is None else epoch:>5} "
            f"{row['best_ndcg@10']:>7.4f} {row['fit_s']:>7.1f}"
        )


def main(script, grids, doc, argv=None, *, base=None, max_epochs=None, every=5):
    """The command line of a selection script over ``grids``."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--models", nargs="+", default=list(grids))
    parser.add_argument("--max-epochs", type=int, default=max_epochs)
    parser.add_argument("--every", type=int, default=every)
    parser.add_argument(
        "--first", type=int, default=None, help="only the first N configurations"
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        type=int,
        default=None,
        help="only these configurations (0-based positions in the model's grid)",
    )
    args = parser.parse_args(argv)
    for dataset_name in args.datasets:
        select(
            script,
            dataset_name,
            grids,
            args.models,
            base=base,
            max_epochs=args.max_epochs,
            every=args.every,
            first=args.first,
            configs=args.configs,
        )
