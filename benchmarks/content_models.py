"""Content, hybrid and multi-task models: warm, cold-item and modality ablation.

(a) *Warm*: MovieLens-100K ``ua`` (the protocol of ``movielens_ranking.py``:
    implicit, full catalog, training items excluded, epochs chosen on a
    ``UserHoldout`` of ``ua.base``), with ``u.item``'s title, year and genres
    as item features; ``multitask`` also gets the ratings.
(b) *Cold items*: ``ColdItemSplit(0.1, random_state=0)`` of all 100,000
    ratings; the models see the features of every item but no interaction
    of the held-out ones; each test user's held-out items are ranked among
    all held-out items. The feature set (all, or year and genres) and the
    number of epochs are chosen on a second ``ColdItemSplit`` of the
    training rows, never on the test items. ``Popularity`` scores them 0
    by construction; the TF-IDF baseline scores an item by the summed cosine
    similarity of its text (title and genre names) to the user's training
    items.
(c) *Ablation*: the same cold-item protocol on ``make_interactions``'s
    synthetic data (1000 users, 500 items), ``ContentRecommender`` given each
    non-empty subset of the modalities (each carries a different part of the
    items' latent taste), its epochs chosen on a second ``ColdItemSplit`` of
    the training rows, the metrics averaged over ``--ablation-seeds`` datasets.

Run: ``python benchmarks/content_models.py [--parts warm cold ablation]
[--models content ...]``; with ``--models``, (a) and (b) rerun only those
models and keep the other rows of their results files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
from _common import RESULTS, data_home, write_result
from movielens_ranking import METRICS, best_epochs, score
from sklearn.feature_extraction.text import TfidfVectorizer
from skorch.callbacks import Callback

from sk_recsys.datasets import load_movielens, make_interactions
from sk_recsys.metrics import ndcg_at_k, recall_at_k
from sk_recsys.model_selection import ColdItemSplit
from sk_recsys.models import (
    ContentRecommender,
    HybridRecommender,
    MatrixFactorization,
    MultiTaskRecommender,
    Popularity,
)

WARM = {
    "mf-bce": (
        MatrixFactorization,
        {"loss": "bce", "n_factors": 64, "l2": 0.005, "n_negatives": 8},
    ),
    "content": (ContentRecommender, {}),
    "hybrid": (HybridRecommender, {}),
    "multitask": (MultiTaskRecommender, {}),
}


def warm(max_epochs, models=tuple(WARM)):
    data = load_movielens("100k", split="ua", data_home=data_home())
    features = data.item_features
    rows = []
    for name, (cls, params) in WARM.items():
        if name not in models:
            continue
        y = data.y_train if name == "multitask" else None
        fit_params = {} if name == "mf-bce" else {"item_features": features}
        epochs, valid = best_epochs(
            cls, params, data.X_train, max_epochs, y=y, **fit_params
        )
        model = cls(**params, max_epochs=epochs, random_state=0)
        start = time.perf_counter()
        model.fit(data.X_train, y, **fit_params)
        fit_s = time.perf_counter() - start
        rows.append(
            {
                "model": repr(model),
                "epochs": epochs,
                "valid_ndcg@10": valid,
                **score(model, data.X_test),
                "fit_s": fit_s,
            }
        )
        print(rows[-1], flush=True)
    return rows


def _cold_metrics(model, X_test, cold_items):
    users = np.unique(X_test.iloc[:, 0])
    scores = model.score_items(users, items=cold_items).astype(np.float64)
    truth = np.zeros_like(scores)
    for user, item in X_test.iloc[:, :2].itertuples(index=False):
        truth[np.searchsorted(users, user), np.searchsorted(cold_items, item)] = 1
    return {
        "recall@10": recall_at_k(truth, scores, k=10),
        "ndcg@10": ndcg_at_k(truth, scores, k=10),
    }


class TfidfItemSimilarity:
    """Score an item by the cosine of its text to the user's training items."""

    def fit(self, X, item_features, text):
        self.items_ = np.asarray(item_features.index)
        matrix = TfidfVectorizer().fit_transform(text.loc[self.items_])
        self.similarity_ = (matrix @ matrix.T).toarray()
        self.history_ = X.groupby(X.columns[0])[X.columns[1]].apply(list)
        return self

    def score_items(self, users, items):
        position = {item: j for j, item in enumerate(self.items_)}
        columns = [position[i] for i in items]
        scores = np.zeros((len(users), len(items)))
        for row, user in enumerate(users):
            seen = [position[i] for i in self.history_.get(user, [])]
            if seen:
                scores[row] = self.similarity_[np.ix_(seen, columns)].sum(0)
        return scores


def _split_cold(X, y, seed=0):
    train, test = next(ColdItemSplit(0.1, random_state=seed).split(X))
    cold = np.unique(X.iloc[test, 1])
    return X.iloc[train], X.iloc[test], (None if y is None else y[train]), cold


def cold(max_epochs, models=("content", "hybrid")):
    data = load_movielens("100k", data_home=data_home())
    features = data.item_features
    X_train, X_test, _, cold_items = _split_cold(data.X, None)
    genres = features.columns[2:]
    text = (
        features["title"]
        + " "
        + features[genres].apply(
            lambda row: " ".join(g for g in genres if row[g]), axis=1
        )
    )
    rows = []
    baselines = {
        "Popularity()": Popularity().fit(X_train, item_features=features),
        "TF-IDF item similarity (title + genres)": TfidfItemSimilarity().fit(
            X_train, features, text
        ),
    }
    for name, model in baselines.items():
        rows.append({"model": name, **_cold_metrics(model, X_test, cold_items)})
        print(rows[-1], flush=True)
    feature_sets = {"all": list(features.columns), "year + genres": ["year", *genres]}
    for key, cls in (("content", ContentRecommender), ("hybrid", HybridRecommender)):
        if key not in models:
            continue
        # Model selection without the test items: the feature set and the
        # number of epochs with the best recall@10 on cold items held out of
        # the training rows.
        inner_train, inner_test, _, inner_cold = _split_cold(X_train, None, seed=1)
        best = None
        for name, columns in feature_sets.items():
            for epochs in (4, 8, max_epochs):
                model = cls(max_epochs=epochs, random_state=0)
                model.fit(inner_train, item_features=features[columns])
                recall = _cold_metrics(model, inner_test, inner_cold)["recall@10"]
                if best is None or recall > best[0]:
                    best = (recall, name, epochs)
        _, name, epochs = best
        model = cls(max_epochs=epochs, random_state=0)
        start = time.perf_counter()
        model.fit(X_train, item_features=features[feature_sets[name]])
        rows.append(
            {
                "model": repr(model),
                "features": name,
                **_cold_metrics(model, X_test, cold_items),
                "fit_s": time.perf_counter() - start,
            }
        )
        print(rows[-1], flush=True)
    return rows, len(cold_items), len(X_test)


class _ColdRecall(Callback):
    """Record the recall@10 on held-out cold items after every epoch."""

    def __init__(self, X, cold_items):
        self.X, self.cold_items = X, cold_items

    def initialize(self):
        self.values_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.values_.append(_cold_metrics(net, self.X, self.cold_items)["recall@10"])


MODALITIES = {
    "text": ["title"],
    "numeric": ["numeric_0", "numeric_1", "numeric_2"],
    "image": ["image"],
}


def ablation(max_epochs, seeds):
    subsets = [
        combo for r in (1, 2, 3) for combo in itertools.combinations(MODALITIES, r)
    ]
    results = {combo: [] for combo in subsets}
    for seed in seeds:
        data = make_interactions(random_state=seed)
        X_train, X_test, _, cold_items = _split_cold(data.X, None)
        inner_train, inner_test, _, inner_cold = _split_cold(X_train, None, seed=1)
        for combo in subsets:
            features = data.item_features[[c for m in combo for c in MODALITIES[m]]]
            # Epochs: the best recall@10 on cold items held out of the
            # training rows (the same rule for every subset, no test items).
            curve = _ColdRecall(inner_test, inner_cold)
            model = ContentRecommender(
                max_epochs=max_epochs, random_state=0, callbacks=[curve]
            )
            model.fit(inner_train, item_features=features)
            epochs = int(np.argmax(curve.values_)) + 1
            model = ContentRecommender(max_epochs=epochs, random_state=0)
            model.fit(X_train, item_features=features)
            metrics = _cold_metrics(model, X_test, cold_items)
            results[combo].append({"epochs": epochs, **metrics})
            print(seed, combo, results[combo][-1], flush=True)
    return [
        {
            "modalities": " + ".join(combo),
            "epochs": " ".join(str(r["epochs"]) for r in runs),
            **{
                metric: float(np.mean([r[metric] for r in runs]))
                for metric in ("recall@10", "ndcg@10")
            },
        }
        for combo, runs in results.items()
    ]


def _keep_other_rows(name, rows):
    """``rows`` in place of the same models' rows of results/<name>.json."""
    path = RESULTS / f"{name}.json"
    old = json.loads(path.read_text())["rows"] if path.exists() else []
    fresh = {row["model"].split("(")[0]: row for row in rows}
    merged = [fresh.pop(row["model"].split("(")[0], row) for row in old]
    return merged + list(fresh.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["warm", "cold", "ablation"],
        choices=["warm", "cold", "ablation"],
    )
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--cold-epochs", type=int, default=20)
    parser.add_argument(
        "--ablation-seeds",
        type=int,
        default=3,
        help="synthetic datasets (random_state 0, 1, ...) the ablation averages",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(WARM),
        choices=list(WARM),
        help="warm and cold models to rerun; the other rows are kept from the "
        "results files",
    )
    args = parser.parse_args()
    partial = set(args.models) != set(WARM)
    if "warm" in args.parts:
        rows = warm(args.max_epochs, args.models)
        write_result(
            "content_warm_ua",
            {
                "title": "MovieLens-100K ua with item features (title, year, genres)",
                "protocol": (
                    "implicit ua.base (multitask also gets the ratings), epochs "
                    "chosen on a UserHoldout(0.1) of ua.base, full catalog, "
                    "training items excluded"
                ),
                "columns": ["model", "epochs", "valid_ndcg@10", *METRICS, "fit_s"],
                "rows": (
                    _keep_other_rows("content_warm_ua", rows) if partial else rows
                ),
            },
        )
    if "cold" in args.parts:
        rows, n_items, n_rows = cold(args.cold_epochs, args.models)
        if partial:
            rows = _keep_other_rows("content_cold_items_ml100k", rows)
        write_result(
            "content_cold_items_ml100k",
            {
                "title": (
                    f"MovieLens-100K cold items: ColdItemSplit(0.1) holds out "
                    f"{n_items} items ({n_rows} ratings)"
                ),
                "protocol": (
                    "models see every item's features but no rating of the "
                    "held-out items; each test user's held-out items ranked among "
                    f"all {n_items} held-out items; feature set and epochs (4, 8 "
                    f"or {args.cold_epochs}) chosen on a ColdItemSplit of the "
                    "training rows"
                ),
                "columns": ["model", "features", "recall@10", "ndcg@10", "fit_s"],
                "rows": rows,
            },
        )
    if "ablation" in args.parts:
        seeds = list(range(args.ablation_seeds))
        write_result(
            "content_ablation_synthetic",
            {
                "title": (
                    "Modality ablation, ContentRecommender, synthetic cold items "
                    "(make_interactions, ColdItemSplit(0.1))"
                ),
                "protocol": (
                    "ContentRecommender's defaults (word_dropout=0.5) given "
                    "every non-empty subset of the modalities (text: the "
                    "category, numeric: latent factors 0-2, image: factors 3-5); "
                    "held-out items ranked among the held-out items; epochs (1 "
                    f"to {args.cold_epochs}, listed per dataset) chosen for each "
                    "subset by the best recall@10 on a ColdItemSplit of the "
                    "training rows; mean over the datasets make_interactions("
                    f"random_state={', '.join(map(str, seeds))})"
                ),
                "columns": ["modalities", "epochs", "recall@10", "ndcg@10"],
                "rows": ablation(args.cold_epochs, seeds),
            },
        )


if __name__ == "__main__":
    main()
