"""The configuration-driven benchmark suite: datasets x models, ours and peers.

``python -m benchmarks run`` reads ``benchmarks/suite.toml``, loads each
dataset (from ``$SK_RECSYS_DATA``; nothing is downloaded), fits each model on
the training rows and scores it with *our* metric code (checked against
scikit-learn) on a full-catalog ranking, training items excluded. Every
(dataset, model) pair is written to
``benchmarks/results/suite/<dataset>/<model>__<config hash>__<machine>.json``,
so a result is keyed by exactly the configuration that produced it and the
machine it ran on; a rerun skips pairs already measured on this machine with
the same configuration (``--force`` measures again).

Protocols
---------
``ranking``
    Implicit feedback (ratings and play counts become "interacted"). The
    catalog is every item of the training rows; for each test user all of
    it is ranked, training items excluded, and the user's test items are
    relevant (test items absent from training stay relevant but cannot be
    ranked, which costs every model the same).

    A ranking dataset with ``holdout = "leave-last-out"`` is a next-item
    task: each user's latest row by timestamp (ties broken by row order) is
    the test item, and the fold keeps a ``time`` column so that sequential
    models can order each user's history. :func:`validation_fold` carves a
    validation split from its training rows by the same rule, for tuning.
``rating``
    Explicit ratings: fit on the training ratings, predict the test pairs,
    RMSE and MAE (predictions clipped to the rating scale), per fold and
    their mean.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import tomllib

from . import _common, peers

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "suite.toml"
SUITE_RESULTS = _common.RESULTS / "suite"
RANKING_METRICS = (
    "ndcg@10",
    "precision@10",
    "recall@10",
    "map@10",
    "hit_rate@10",
    "auc",
)
RATING_METRICS = ("rmse", "mae")
# Test users scored per block: bounds the dense (users x items) score matrix.
_USER_BLOCK = 2048


@dataclass
class Fold:
    """One train/test split, encoded: users and items are 0..n-1 indices."""

    name: str
    # Columns user, item, value (rating or count), and time (Unix seconds) for
    # the leave-last-out datasets.
    train: pd.DataFrame
    test: pd.DataFrame
    n_users: int
    n_items: int

    def train_matrix(self) -> sp.csr_matrix:
        """The (users x items) CSR of the training rows, 1 per interaction."""
        from sk_recsys.data import interaction_matrix

        return interaction_matrix(
            self.train["user"].to_numpy(),
            self.train["item"].to_numpy(),
            shape=(self.n_users, self.n_items),
        )


def machine_key(machine: dict) -> str:
    """A short, stable name for the machine a result was measured on."""
    cpu = re.sub(r"[^a-z0-9]+", "-", machine["cpu"].lower()).strip("-")
    key = f"{cpu}-{machine['cores']}c"
    if machine.get("gpu"):
        key += "-" + re.sub(r"[^a-z0-9]+", "-", machine["gpu"].lower()).strip("-")
    return key


# Keys of a model entry read only by `python -m benchmarks tune` and the
# report: the search space, whether seeds differ, and why an entry has no
# space (`not_searched`, shown beside the tuned tables).
TUNING_KEYS = ("space", "stochastic", "not_searched")


def config_hash(dataset: dict, model: dict) -> str:
    """Hash of everything that determines a result, but not the machine.

    The tuning keys of a model entry (its search space) do not change what
    a run at the entry's parameters measures, so they are left out.
    """
    model = {key: value for key, value in model.items() if key not in TUNING_KEYS}
    text = json.dumps({"dataset": dataset, "model": model}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def load_config(path: Path = CONFIG) -> dict:
    """Read the suite configuration (TOML)."""
    return tomllib.loads(Path(path).read_text())


# --------------------------------------------------------------- datasets


def _encode(train: pd.DataFrame, test: pd.DataFrame, name: str) -> Fold:
    """Index users and items of the training rows; test rows keep the users known
    in training, and test items unknown to training get indices past the catalog
    (relevant, never rankable). A ``time`` column, when present, is kept."""
    users = pd.Index(pd.unique(train["user"]))
    items = pd.Index(pd.unique(train["item"]))
    test = test[test["user"].isin(users)]
    unseen = pd.Index(pd.unique(test.loc[~test["item"].isin(items), "item"]))
    item_index = items.append(unseen)
    encoded_train = pd.DataFrame(
        {
            "user": users.get_indexer(train["user"]),
            "item": items.get_indexer(train["item"]),
            "value": train["value"].to_numpy(np.float32),
        }
    )
    encoded_test = pd.DataFrame(
        {
            "user": users.get_indexer(test["user"]),
            "item": item_index.get_indexer(test["item"]),
            "value": test["value"].to_numpy(np.float32),
        }
    )
    if "time" in train:
        encoded_train["time"] = train["time"].to_numpy()
        encoded_test["time"] = test["time"].to_numpy()
    return Fold(name, encoded_train, encoded_test, len(users), len(items))


def _frame(users, items, values, times=None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"user": np.asarray(users), "item": np.asarray(items), "value": values}
    )
    if times is not None:
        frame["time"] = np.asarray(times)
    return frame


def _user_split(frame: pd.DataFrame, test_size: float, seed: int):
    """Each user's rows: a ``test_size`` share to test (our ``strategy="user"``)."""
    from sk_recsys.model_selection import train_test_split

    return train_test_split(
        frame, test_size=test_size, strategy="user", random_state=seed
    )


def _leave_last_out(frame: pd.DataFrame):
    """Each user's latest row by ``time`` to test, ties broken by row order.

    Our ``LeaveLastOut(n=1, time_column=2)`` on ``[user, item, time]``: a user
    with a single row keeps it for training.
    """
    from sk_recsys.model_selection import LeaveLastOut

    rows = frame[["user", "item", "time"]]
    train, test = next(LeaveLastOut(n=1, time_column=2).split(rows))
    return frame.iloc[train], frame.iloc[test]


VALIDATION_SHARE = 0.1
VALIDATION_SEED = 1


def validation_fold(fold: Fold) -> Fold:
    """A validation fold carved from ``fold.train``; the test rows are not read.

    On a leave-last-out fold (a ``time`` column) each user's latest training
    row (ties broken by row order) is validation, the rest train; a user
    with one training row stays train-only. Otherwise a seeded
    ``VALIDATION_SHARE`` of each user's training rows is validation (the
    user holdout the suite's test splits use). The fold keeps ``fold``'s
    user and item indices, so a model tuned on it scores in the same index
    space (an item seen only in validation rows stays in the catalog,
    without training rows).
    """
    if "time" in fold.train:
        train, valid = _leave_last_out(fold.train)
    else:
        train, valid = _user_split(fold.train, VALIDATION_SHARE, VALIDATION_SEED)
    return Fold(
        f"{fold.name}-validation",
        train.reset_index(drop=True),
        valid.reset_index(drop=True),
        fold.n_users,
        fold.n_items,
    )


def load_folds(spec: dict, home: Path | None) -> list[Fold]:
    """The folds of one dataset entry of the configuration."""
    source = spec["source"]
    if source == "movielens":
        from sk_recsys.datasets import load_movielens

        splits = spec.get("splits")
        if splits:
            folds = []
            for split in splits:
                X_train, X_test, y_train, y_test = load_movielens(
                    spec["variant"], split=split, data_home=home, return_X_y=True
                )
                folds.append(
                    _encode(
                        _frame(X_train.iloc[:, 0], X_train.iloc[:, 1], y_train),
                        _frame(X_test.iloc[:, 0], X_test.iloc[:, 1], y_test),
                        split,
                    )
                )
            return folds
        X, y = load_movielens(spec["variant"], data_home=home, return_X_y=True)
        frame = _frame(X.iloc[:, 0], X.iloc[:, 1], y, X.iloc[:, 2])
    elif source == "lastfm":
        from sk_recsys.datasets import load_lastfm

        X, y = load_lastfm(data_home=home, return_X_y=True)
        frame = _frame(X.iloc[:, 0], X.iloc[:, 1], y)
    elif source == "synthetic":
        from sk_recsys.datasets import make_interactions

        # 1-5 ratings for the rating protocol, one per interaction otherwise.
        explicit = spec.get("protocol") == "rating"
        X, y = make_interactions(
            **spec["params"], explicit=explicit, random_state=0, return_X_y=True
        )
        values = y if explicit else np.ones(len(X), np.float32)
        frame = _frame(X.iloc[:, 0], X.iloc[:, 1], values)
    else:
        raise ValueError(f"Unknown dataset source {source!r} in the configuration.")
    holdout = spec.get("holdout", "user")
    if holdout == "leave-last-out":
        if "time" not in frame:
            raise ValueError(f"Dataset source {source!r} has no timestamps.")
        return [_encode(*_leave_last_out(frame), "leave-last-out")]
    if holdout != "user":
        raise ValueError(f"Unknown holdout {holdout!r} in the configuration.")
    frame = frame.drop(columns="time", errors="ignore")
    train, test = _user_split(frame, spec.get("test_size", 0.2), spec.get("seed", 0))
    if spec.get("eval_users"):
        # Large sets: score a seeded sample of the test users (still the full
        # catalog for each), so evaluation does not dominate the run.
        users = pd.unique(test["user"])
        rng = np.random.default_rng(spec.get("seed", 0))
        keep = rng.choice(users, min(len(users), spec["eval_users"]), replace=False)
        test = test[test["user"].isin(keep)]
    return [_encode(train, test, "holdout")]


# -------------------------------------------------------------- evaluation


def evaluate_ranking(score_users, fold: Fold, *, per_user=False) -> dict:
    """Every ranking metric of a model on a fold, from full-catalog scores.

    ``score_users(users)`` returns a (len(users), n_items) array of scores in
    the fold's item order (``-inf`` = not rankable). Training items are masked
    here, for every library alike; test users are processed in blocks.
    ``per_user=True`` adds ``"per_user"``: the test users and each one's
    NDCG@10 (their mean is ``"ndcg@10"``), for paired comparisons.
    """
    from sk_recsys import metrics
    from sk_recsys.metrics._ranking import _check_targets, ranked_hits, top_k_rows

    functions = {
        "ndcg@10": metrics.ndcg_at_k,
        "precision@10": metrics.precision_at_k,
        "recall@10": metrics.recall_at_k,
        "map@10": metrics.map_at_k,
        "hit_rate@10": metrics.hit_rate_at_k,
    }
    seen = fold.train_matrix()
    test_users = np.unique(fold.test["user"])
    n_columns = max(fold.n_items, int(fold.test["item"].max()) + 1)
    relevant = sp.csr_matrix(
        (np.ones(len(fold.test)), (fold.test["user"], fold.test["item"])),
        shape=(fold.n_users, n_columns),
    )
    totals = dict.fromkeys(RANKING_METRICS, 0.0)
    counted = dict.fromkeys(RANKING_METRICS, 0)
    user_ndcg = []
    for start in range(0, len(test_users), _USER_BLOCK):
        users = test_users[start : start + _USER_BLOCK]
        scores = np.full((len(users), n_columns), -np.inf)
        scores[:, : fold.n_items] = score_users(users)
        rows, cols = seen[users].nonzero()
        scores[rows, cols] = -np.inf
        block = relevant[users].toarray()
        if per_user:
            rel, score = _check_targets(block, scores)
            hits = ranked_hits(rel, score, 10)
            user_ndcg.append(top_k_rows("ndcg", hits, rel.sum(1), 10).cpu().numpy())
        for name, function in functions.items():
            totals[name] += function(block, scores, k=10) * len(users)
            counted[name] += len(users)
        if np.isfinite(scores).any(axis=1).all():
            totals["auc"] += metrics.auc_score(block, scores) * len(users)
            counted["auc"] += len(users)
    values = {
        name: (totals[name] / counted[name] if counted[name] else None)
        for name in RANKING_METRICS
    }
    if per_user:
        values["per_user"] = {
            "users": test_users.tolist(),
            "ndcg@10": np.concatenate(user_ndcg).tolist() if user_ndcg else [],
        }
    return values


def evaluate_rating(
    predict_pairs, fold: Fold, scale=(1.0, 5.0), *, per_user=False
) -> dict:
    """RMSE and MAE of predicted ratings, clipped to the rating scale.

    ``per_user=True`` adds ``"per_user"``: the test users, each one's sum of
    squared errors and number of test ratings, from which the RMSE of any
    resample of the users follows (the paired bootstrap of the tuned tables).
    """
    from sk_recsys.metrics import mae, rmse

    users = fold.test["user"].to_numpy()
    predictions = np.clip(predict_pairs(users, fold.test["item"].to_numpy()), *scale)
    truth = fold.test["value"].to_numpy(np.float64)
    values = {"rmse": rmse(truth, predictions), "mae": mae(truth, predictions)}
    if per_user:
        test_users, row_user = np.unique(users, return_inverse=True)
        values["per_user"] = {
            "users": test_users.tolist(),
            "sse": np.bincount(row_user, weights=(truth - predictions) ** 2).tolist(),
            "count": np.bincount(row_user).tolist(),
        }
    return values


# ------------------------------------------------------------------ runs


def fit_and_score(
    model, fold, protocol, *, seed=0, per_user=False, learning_curve=False
):
    """Fit one model entry on a fold and score it with our metric code.

    Returns ``(metrics, fit seconds, scoring seconds, adapter, curve,
    others_busy_cores)``; the fit time leaves out the suite's own work
    inside ``fit`` (learning curves, a side environment's start-up), the
    last item is how many cores other processes kept busy during the fit
    (:class:`benchmarks._common.Stopwatch`), and ``per_user`` is passed to
    :func:`evaluate_ranking` or :func:`evaluate_rating`.
    """
    adapter = peers.make(model, protocol, seed=seed)
    with _common.Stopwatch() as fit_watch:
        curve = adapter.fit(fold, learning_curve=learning_curve)
    fit_s = fit_watch.seconds - adapter.overhead_s_()
    start = time.perf_counter()
    if protocol == "ranking":
        values = evaluate_ranking(adapter.score_users, fold, per_user=per_user)
    else:
        values = evaluate_rating(adapter.predict_pairs, fold, per_user=per_user)
    eval_s = time.perf_counter() - start
    return values, fit_s, eval_s, adapter, curve, fit_watch.others_busy_cores


def run_pair(
    dataset_name, dataset, model_name, model, folds, machine, *, learning_curve, seed=0
):
    """Fit and score one model on every fold of one dataset; the result dict."""
    protocol = dataset["protocol"]
    per_fold = []
    curves = []
    for fold in folds:
        values, fit_s, eval_s, adapter, curve, others = fit_and_score(
            model, fold, protocol, seed=seed, learning_curve=learning_curve
        )
        per_fold.append(
            {
                "fold": fold.name,
                **values,
                "fit_s": fit_s,
                "eval_s": eval_s,
                "others_busy_cores": others,
            }
        )
        if curve:
            curves.append({"fold": fold.name, **curve})
        print(
            f"  {dataset_name:<14} {model_name:<18} {fold.name:<8} "
            + " ".join(
                f"{k} {v:.4f}" for k, v in values.items() if isinstance(v, float)
            )
            + f" fit {fit_s:.2f}s",
            flush=True,
        )
    metric_names = RANKING_METRICS if protocol == "ranking" else RATING_METRICS
    mean = {}
    for key in (*metric_names, "fit_s", "eval_s", "others_busy_cores"):
        values = [row[key] for row in per_fold if row.get(key) is not None]
        mean[key] = float(np.mean(values)) if len(values) == len(per_fold) else None
    return {
        "dataset": dataset_name,
        "dataset_config": dataset,
        "model": model_name,
        "model_config": model,
        "seed": seed,
        "library": adapter.library,
        "estimator": adapter.description,
        "protocol": protocol,
        "folds": per_fold,
        "mean": mean,
        "learning_curves": curves,
        "machine": machine,
        "machine_key": machine_key(machine),
        # the torch threads the fits ran with (a side environment's peer
        # takes this process's count)
        "torch_threads": machine["torch_threads"],
        "python": platform.python_version(),
        "commit": _common.git_commit(),
    }


def result_path(dataset_name, model_name, dataset, model, machine, seed=0) -> Path:
    """Where the result of one (dataset, model, machine) configuration lives.

    A seed other than 0 (``run --seed``) gets its own file beside seed 0's,
    so a stochastic model's extra seeds add to its row instead of
    replacing it.
    """
    suffix = "" if seed == 0 else f"__seed{seed}"
    return (
        SUITE_RESULTS
        / dataset_name
        / (
            f"{model_name}__{config_hash(dataset, model)}"
            f"__{machine_key(machine)}{suffix}.json"
        )
    )


def planned(config: dict, *, datasets=None, models=None):
    """The (dataset, model) pairs of the configuration, optionally filtered."""
    for run in config["runs"]:
        for dataset_name in run["datasets"]:
            if datasets and dataset_name not in datasets:
                continue
            for model_name in run["models"]:
                if models and model_name not in models:
                    continue
                yield dataset_name, model_name


def resolve_model(model: dict, dataset_name: str, dataset: dict | None = None) -> dict:
    """The model entry with the parameters chosen for this dataset, if tuned.

    An entry with ``tuned = "<script>"`` (``sequential_selection``,
    ``baseline_selection``) takes the parameters that
    ``benchmarks/<script>.py`` chose for its estimator on the dataset's
    validation split (``results/<script>_<dataset>.json``), under the
    entry's own ``params``. A dataset entry with ``tuned_on = "<other>"``
    (the large synthetic sets) reuses the choice made on that dataset. The
    parameters enter the result's configuration hash, so a new choice is
    measured again.
    """
    if "tuned" not in model:
        return model
    source = (dataset or {}).get("tuned_on", dataset_name)
    path = _common.RESULTS / f"{model['tuned']}_{source}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no {path.name}: run python -m benchmarks.{model['tuned']} "
            f"--datasets {source} first"
        )
    best = json.loads(path.read_text())["best"]
    if model["estimator"] not in best:
        raise FileNotFoundError(f"{path.name} has no {model['estimator']} entry")
    chosen = best[model["estimator"]]["params"]
    return {**model, "params": {**chosen, **model.get("params", {})}}


def run(
    config_path=CONFIG, *, datasets=None, models=None, force=False, curves=True, seed=0
):
    """Run every planned pair not yet measured on this machine; write results.

    ``seed`` seeds the models (their library's seed parameter); each seed's
    result is stored apart and the tables show the mean and standard
    deviation over the seeds measured. An entry marked ``stochastic =
    false`` is measured with seed 0 only, as ``tune`` does.
    """
    config = load_config(config_path)
    machine = _common.machine()
    home = _common.data_home()
    pairs = list(planned(config, datasets=datasets, models=models))
    loaded: dict[str, list[Fold] | None] = {}
    written = []
    for dataset_name, model_name in pairs:
        dataset = config["datasets"][dataset_name]
        try:
            model = resolve_model(config["models"][model_name], dataset_name, dataset)
        except FileNotFoundError as error:
            print(f"  {dataset_name:<14} {model_name:<18} skipped: {error}")
            continue
        if seed and not model.get("stochastic", True):
            print(f"  {dataset_name:<14} {model_name:<18} deterministic: seed 0 only")
            continue
        path = result_path(dataset_name, model_name, dataset, model, machine, seed)
        if path.exists() and not force:
            print(
                f"  {dataset_name:<14} {model_name:<18} already measured: {path.name}"
            )
            continue
        if dataset_name not in loaded:
            try:
                loaded[dataset_name] = load_folds(dataset, home)
            except (FileNotFoundError, ValueError) as error:
                print(f"  {dataset_name}: skipped ({error})")
                loaded[dataset_name] = None
        folds = loaded[dataset_name]
        if folds is None:
            continue
        missing = peers.missing(model)
        if missing:
            print(f"  {dataset_name:<14} {model_name:<18} skipped: {missing}")
            _write_skip(dataset_name, model_name, dataset, model, machine, missing)
            continue
        result = run_pair(
            dataset_name,
            dataset,
            model_name,
            model,
            folds,
            machine,
            learning_curve=curves,
            seed=seed,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        written.append(path)
    return written


def _write_skip(dataset_name, model_name, dataset, model, machine, reason):
    """Record that a peer could not run here, so the tables can say why."""
    path = SUITE_RESULTS / "_skipped" / f"{model_name}__{machine_key(machine)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "model": model_name,
                "library": model["library"],
                "reason": reason,
                "machine_key": machine_key(machine),
            },
            indent=1,
        )
        + "\n"
    )


def load_results() -> list[dict]:
    """Every stored suite result (skips excluded)."""
    return [
        json.loads(path.read_text())
        for path in sorted(SUITE_RESULTS.glob("*/*.json"))
        if path.parent.name != "_skipped"
    ]


def load_skips() -> list[dict]:
    """The peers recorded as not runnable, with the reason."""
    return [
        json.loads(path.read_text())
        for path in sorted((SUITE_RESULTS / "_skipped").glob("*.json"))
    ]
