"""Which second-stage model reranks CandidateRanker's candidates best.

The candidates and features ``CandidateRanker`` builds for its ranker (the
three generators ``two_stage.py`` chose, ``n_candidates=100``, five random
holdout rounds) on the validation split of a dataset's training rows are
split by user in two halves: each ranker learns from one half and ranks
the other half's candidate lists, scored by NDCG@10 within those lists
(the held-out items are the relevant ones). Each generator's own order and
reciprocal rank fusion of the three are the baselines. The test rows are
never read. This chose the default ranker of ``CandidateRanker``.

Run: ``python -m benchmarks.ranker_choice [--dataset ml100k-ua]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from benchmarks import _common, suite, two_stage


def _rankers() -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rankers = {
        "HistGradientBoosting, scikit-learn defaults": HistGradientBoostingClassifier(
            random_state=0
        ),
        "HistGradientBoosting, 7 leaves, 200 per leaf": HistGradientBoostingClassifier(
            max_leaf_nodes=7, min_samples_leaf=200, random_state=0
        ),
        "HistGradientBoosting, 15 leaves, 100 per leaf, lr 0.05, 300 trees "
        "(the default)": HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=300,
            max_leaf_nodes=15,
            min_samples_leaf=100,
            random_state=0,
        ),
    }
    try:
        from lightgbm import LGBMRanker

        rankers["LightGBM LambdaRank, 15 leaves, lr 0.05, 300 trees"] = LGBMRanker(
            objective="lambdarank",
            n_estimators=300,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=100,
            verbose=-1,
            n_jobs=1,
            random_state=0,
        )
    except ImportError:
        pass
    return rankers


def training_set(dataset: str, home):
    """The ranker's training frame, labels and query ids on validation."""
    from sk_recsys.compose import CandidateRanker

    captured = {}

    class Capture(CandidateRanker):
        def _fit_ranker(self, ranker, frame, target, group):
            captured.update(frame=frame, target=target, group=group)
            return super()._fit_ranker(ranker, frame, target, group)

    train, _, user_features, item_features = two_stage.load(dataset, home)
    valid_train, _ = suite._user_split(
        train, suite.VALIDATION_SHARE, suite.VALIDATION_SEED
    )
    stored = json.loads((_common.RESULTS / f"two_stage_{dataset}.json").read_text())
    params = two_stage.tuned_params(dataset)
    generators = [
        two_stage.make_generator(name, params[name]) for name in stored["generators"]
    ]
    model = Capture(
        generators,
        n_candidates=100,
        n_rounds=5,
        holdout_strategy="random",
        random_state=0,
    )
    two_stage.fit_ours(
        model, valid_train.reset_index(drop=True), user_features, item_features
    )
    group = captured["group"]
    query = np.repeat(np.arange(len(group)), group)
    return captured["frame"], captured["target"], query, stored["generators"]


def ndcg_within(query, score, target, k=10) -> float:
    """Mean NDCG@k of each query's candidates ordered by ``score``."""
    frame = pd.DataFrame({"q": query, "s": score, "t": target})
    frame = frame.sort_values(["q", "s"], ascending=[True, False], kind="stable")
    frame["position"] = frame.groupby("q").cumcount()
    top = frame[frame["position"] < k]
    gains = top["t"] / np.log2(top["position"] + 2)
    dcg = gains.groupby(top["q"]).sum()
    n_relevant = frame.groupby("q")["t"].sum().clip(upper=k)
    ideal_by_count = np.cumsum(1 / np.log2(np.arange(2, k + 2)))
    idcg = n_relevant.map(lambda n: ideal_by_count[n - 1] if n else 0.0)
    useful = idcg > 0
    return float((dcg.reindex(idcg.index, fill_value=0)[useful] / idcg[useful]).mean())


def main(argv=None):
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml100k-ua")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    frame, target, query, names = training_set(args.dataset, _common.data_home())
    # Queries (round, user) split by parity: learn on even, rank odd ones.
    learn = query % 2 == 0
    held = ~learn
    rows = []

    def record(name, score, fit_s=0.0):
        value = ndcg_within(query[held], score[held], target[held])
        rows.append({"ranker": name, "ndcg@10": value, "fit_s": fit_s})
        print(f"  {name:<78} {value:.4f}  fit {fit_s:.1f} s", flush=True)

    for i, name in enumerate(names):
        record(f"generator {name} alone (its rank)", -frame[f"g{i}_rank"].to_numpy())
    fused = sum(
        1.0 / (61.0 + frame[f"g{i}_rank"].to_numpy()) for i in range(len(names))
    )
    record("reciprocal rank fusion of the generators", fused)
    for name, ranker in _rankers().items():
        start = time.perf_counter()
        if "LambdaRank" in name:
            sizes = np.bincount(query[learn])
            ranker.fit(frame[learn], target[learn], group=sizes[sizes > 0])
            score = ranker.predict(frame)
        else:
            ranker.fit(frame[learn], target[learn])
            score = ranker.predict_proba(frame)[:, 1]
        record(name, score, time.perf_counter() - start)
    _common.write_result(
        f"ranker_choice_{args.dataset}",
        {
            "title": "Second-stage models on CandidateRanker's candidates",
            "dataset": args.dataset,
            "generators": names,
            "n_rows": len(frame),
            "positive_rate": float(target.mean()),
            "protocol": (
                "the ranker's training candidates on the validation split "
                f"({len(frame)} rows, {target.mean():.1%} positive), queries "
                "split by parity: learn on one half, NDCG@10 within the "
                "other half's candidate lists."
            ),
            "columns": ["ranker", "ndcg@10", "fit_s"],
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
