"""Two-stage recommendation against its generators, rank fusion and skrecsys.

On MovieLens-100K ``ua`` / ``ub`` (official splits) and the ML-1M subset
(users 1-2999; the suite's seeded 20% per-user holdout), with the user and
item files as side information, one script run measures:

- each candidate generator alone: ``EASE``, ``SLIM``, ``ImplicitALS`` and
  ``RP3Beta`` with the settings ``baseline_selection.py`` chose on this
  dataset's validation split (EASE at its default);
- ``CandidateRanker`` over the three generators with the best validation
  NDCG@10, default ranker (``HistGradientBoostingClassifier``);
- ``RankFusion`` over the same three;
- skrecsys's ``Cascade`` (skrecsys has no default features or ranker: its
  documented pattern, ``GeneratorScores`` and ``PointwiseRanker`` around
  scikit-learn's ``HistGradientBoostingClassifier`` at its defaults, over
  skrecsys's EASE, SLIM and RP3beta at their defaults; its holdout takes
  each user's last rows in row order, so the rows are shuffled once, seeded:
  a random holdout, as ours chose on validation).

Settings are chosen on a validation split carved from the training rows
(the suite's: a seeded 10% of each user's training rows), by NDCG@10: the
three generators, ``CandidateRanker``'s holdout strategy, ``n_candidates``
and ``n_rounds`` (grid ``CONFIGS``), ``RankFusion``'s method. The chosen
settings are refitted on all training rows and scored once on test: our
scorer, full catalog, training items excluded. Results go to
``results/two_stage_<dataset>.json``; ``render.py`` tables them.

Run: ``python -m benchmarks.two_stage [--datasets ml100k-ua ml100k-ub
ml1m-subset] [--skip-peer]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from benchmarks import _common, suite

DATASETS = ("ml100k-ua", "ml100k-ub", "ml1m-subset")
GENERATORS = ("ease", "slim", "ials", "rp3beta")
# (holdout_strategy, n_candidates, n_rounds[, holdout share]): the time
# holdout once, to show (on validation) what a holdout unlike the
# evaluation's costs; the last one holds out less per round, so the
# ranker's generators see nearly what the served ones see
# (two_stage_ablation.py).
CONFIGS = (
    ("time", 50, 1),
    ("random", 50, 1),
    ("random", 100, 1),
    ("random", 50, 5),
    ("random", 100, 5),
    ("random", 100, 4, 0.05),
)
FUSION = ("rrf", "weighted")
PROTOCOL = (
    "settings chosen on a validation split of the training rows (a seeded "
    "10% of each user's rows; stage 'validation'), refitted on all training "
    "rows and scored once on test (stage 'test'); our NDCG@10 and recall@10, "
    "full catalog, training items excluded; user and item files as side "
    "features."
)


def load(dataset: str, home):
    """Raw-id train/test frames (user, item, time) and the side features."""
    from sk_recsys.datasets import load_movielens

    if dataset.startswith("ml100k-"):
        split = dataset.split("-")[1]
        full = load_movielens("100k", data_home=home)
        X_train, X_test, _, _ = load_movielens(
            "100k", split=split, data_home=home, return_X_y=True
        )
        train = X_train.set_axis(["user", "item", "time"], axis=1)
        test = X_test.set_axis(["user", "item", "time"], axis=1)
    else:
        full = load_movielens("1m-users1-2999", data_home=home)
        X = full.X.set_axis(["user", "item", "time"], axis=1)
        # The suite's split of this dataset: a seeded 20% of each user's rows.
        spec = suite.load_config()["datasets"][dataset]
        train, test = suite._user_split(X, spec["test_size"], spec["seed"])
    return (
        train.reset_index(drop=True),
        test.reset_index(drop=True),
        full.user_features,
        full.item_features,
    )


def as_fold(train, test, name) -> tuple:
    """The suite's encoded fold for evaluation, and its raw user/item ids."""
    framed = [frame.assign(value=np.float32(1.0)) for frame in (train, test)]
    fold = suite._encode(*framed, name)
    users = pd.Index(pd.unique(train["user"]))
    items = pd.Index(pd.unique(train["item"]))
    return fold, users, items


def evaluate(score_raw, train, test, name) -> dict:
    """Our ranking metrics (the suite's evaluate_ranking) of a raw-id scorer."""
    fold, users, items = as_fold(train, test, name)
    return suite.evaluate_ranking(lambda codes: score_raw(users[codes], items), fold)


def tuned_params(dataset: str) -> dict:
    path = _common.RESULTS / f"baseline_selection_{dataset}.json"
    best = json.loads(path.read_text())["best"] if path.exists() else {}
    return {name: best.get(name, {}).get("params", {}) for name in GENERATORS}


def make_generator(name, params):
    from sk_recsys import get_model

    return get_model(name, **params)


def fit_ours(model, train, user_features, item_features):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(
            train[["user", "item", "time"]],
            item_features=item_features,
            user_features=user_features,
        )
    return time.perf_counter() - start


def measure_ours(model, train, test, features, name) -> dict:
    fit_s = fit_ours(model, train, *features)
    metrics = evaluate(
        lambda users, items: model.score_items(users, items=items), train, test, name
    )
    return {"fit_s": fit_s, **metrics}


def skrecsys_cascade():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from skrecsys.compose import Cascade, GeneratorScores, PointwiseRanker
    from skrecsys.recommendation import EASE, RP3Beta, SLIMElasticNet

    return Cascade(
        [EASE(), SLIMElasticNet(), RP3Beta()],
        GeneratorScores(n_generators=3),
        PointwiseRanker(HistGradientBoostingClassifier(random_state=0)),
    )


def measure_cascade(train, test, name) -> dict:
    """skrecsys's Cascade: scores from its top-100 lists (NDCG@10 needs 10)."""
    model = skrecsys_cascade()
    # Its holdout takes each user's last rows in row order (the MovieLens
    # files sort a user's rows by item id): shuffled once, seeded, it is a
    # random holdout, the strategy our validation chose for CandidateRanker.
    rows = train[["user", "item"]].sample(frac=1.0, random_state=0).to_numpy()
    start = time.perf_counter()
    model.fit(rows)
    fit_s = time.perf_counter() - start

    def score_raw(users, items):
        column = pd.Index(items)
        scores = np.full((len(users), len(items)), -np.inf)
        ids, _ = model.recommend(np.asarray(users), n_recommendations=100)
        ids = np.asarray(ids)
        for row in range(len(users)):
            cols = column.get_indexer(ids[row])
            keep = cols >= 0
            # Ranks, not the ranker's values, so ties cannot reorder a list.
            scores[row, cols[keep]] = -np.arange(len(cols))[keep]
        return scores

    metrics = evaluate(score_raw, train, test, name)
    return {"fit_s": fit_s, **metrics}


def run(dataset: str, home, skip_peer: bool) -> dict:
    from sk_recsys.compose import CandidateRanker, RankFusion

    train, test, user_features, item_features = load(dataset, home)
    features = (user_features, item_features)
    valid_train, valid = suite._user_split(
        train, suite.VALIDATION_SHARE, suite.VALIDATION_SEED
    )
    valid_train = valid_train.reset_index(drop=True)
    params = tuned_params(dataset)
    rows = []

    def record(model_name, configuration, stage, metrics):
        row = {
            "model": model_name,
            "configuration": configuration,
            "stage": stage,
            "fit_s": round(metrics["fit_s"], 2),
            "ndcg@10": metrics["ndcg@10"],
            "recall@10": metrics["recall@10"],
        }
        rows.append(row)
        print(
            f"  {stage:<10} {model_name:<16} {configuration:<48} "
            f"ndcg@10 {row['ndcg@10']:.4f} fit {row['fit_s']:.1f} s",
            flush=True,
        )

    # 1. The generators on validation, then the best three.
    valid_score = {}
    for name in GENERATORS:
        model = make_generator(name, params[name])
        metrics = measure_ours(model, valid_train, valid, features, "valid")
        valid_score[name] = metrics["ndcg@10"]
        record(name, json.dumps(params[name]), "validation", metrics)
    chosen = sorted(GENERATORS, key=lambda n: -valid_score[n])[:3]

    def generators():
        return [make_generator(name, params[name]) for name in chosen]

    def two_stage(config):
        strategy, n_candidates, n_rounds, *share = config
        # a config without a share keeps CandidateRanker's default holdout
        return CandidateRanker(
            generators(),
            n_candidates=n_candidates,
            n_rounds=n_rounds,
            holdout_strategy=strategy,
            random_state=0,
            **({"holdout": share[0]} if share else {}),
        )

    # 2. CandidateRanker and RankFusion settings on validation.
    ranker_valid = {}
    for config in CONFIGS:
        metrics = measure_ours(two_stage(config), valid_train, valid, features, "v")
        ranker_valid[config] = metrics["ndcg@10"]
        record("CandidateRanker", _shown_ranker(config), "validation", metrics)
    fusion_valid = {}
    for method in FUSION:
        metrics = measure_ours(
            RankFusion(generators(), method=method), valid_train, valid, features, "v"
        )
        fusion_valid[method] = metrics["ndcg@10"]
        record("RankFusion", f"method={method}", "validation", metrics)
    best_ranker = max(ranker_valid, key=ranker_valid.get)
    best_fusion = max(fusion_valid, key=fusion_valid.get)

    # 3. Test: every generator, and the chosen composites.
    for name in GENERATORS:
        model = make_generator(name, params[name])
        record(
            name,
            json.dumps(params[name]),
            "test",
            measure_ours(model, train, test, features, "test"),
        )
    record(
        "CandidateRanker",
        _shown_ranker(best_ranker),
        "test",
        measure_ours(two_stage(best_ranker), train, test, features, "test"),
    )
    record(
        "RankFusion",
        f"method={best_fusion}",
        "test",
        measure_ours(
            RankFusion(generators(), method=best_fusion), train, test, features, "t"
        ),
    )
    peer = None
    if not skip_peer:
        try:
            record(
                "skrecsys Cascade",
                "EASE+SLIM+RP3beta, GeneratorScores, HGB defaults",
                "test",
                measure_cascade(train, test, "test"),
            )
        except Exception as exc:  # report why the peer did not run
            peer = f"{type(exc).__name__}: {exc}"
            print(f"  skrecsys Cascade failed: {peer}", flush=True)
    test_rows = {r["model"]: r for r in rows if r["stage"] == "test"}
    best_single = max(GENERATORS, key=lambda n: test_rows[n]["ndcg@10"])
    ratio = test_rows["CandidateRanker"]["ndcg@10"] / test_rows[best_single]["ndcg@10"]
    print(
        f"{dataset}: CandidateRanker / best single ({best_single}) = {ratio:.3f}",
        flush=True,
    )
    payload = {
        "title": f"Two-stage recommendation on {dataset}",
        "dataset": dataset,
        "generators": chosen,
        "chosen_ranker": _shown_ranker(best_ranker),
        "chosen_fusion": best_fusion,
        "best_single": best_single,
        "ranker_over_best_single": ratio,
        "peer_error": peer,
        "protocol": PROTOCOL,
        "columns": ["stage", "model", "configuration", "ndcg@10", "recall@10", "fit_s"],
        "rows": rows,
    }
    _common.write_result(f"two_stage_{dataset}", payload)
    return payload


def _shown_ranker(config) -> str:
    strategy, n_candidates, n_rounds, *share = config
    shown = f"holdout={strategy}, n_candidates={n_candidates}, n_rounds={n_rounds}"
    return shown + (f", share={share[0]}" if share else "")


def main(argv=None):
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    home = _common.data_home()
    for dataset in args.datasets:
        print(dataset, flush=True)
        run(dataset, home, args.skip_peer)


if __name__ == "__main__":
    main()
