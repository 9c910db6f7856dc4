"""MovieLens-100K ``ua``: full-catalog ranking quality of the non-neural models.

Protocol (the one the foundation issue quotes for skrecsys 0.9.0): train on
``ua.base`` as implicit feedback (ratings dropped), rank the whole catalog
for each of the 943 test users with their training items excluded, and treat
the 10 ``ua.test`` items of each user as relevant. Every number, ours and the
peers', comes from sk_recsys's metric code (checked against scikit-learn).
Peers (skrecsys, when installed) are scored from their top-100 lists, which
is exact for the @10 metrics; AUC needs full scores and is left out for them.
``rank_s`` is the same work for every library: ``recommend`` top-100 lists
for the 943 test users; ``eval_s`` is our scorer computing all six metrics
from full-catalog scores.

Run: ``python benchmarks/movielens_baselines.py`` (needs $SK_RECSYS_DATA).
"""

from __future__ import annotations

import time

import numpy as np
from _common import data_home, write_result

from sk_recsys.datasets import load_movielens
from sk_recsys.metrics import (
    get_scorer,
    hit_rate_at_k,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from sk_recsys.models import EASE, ItemKNN, Popularity, UserKNN

K = 10
METRICS = ("ndcg@10", "precision@10", "recall@10", "map@10", "hit_rate@10", "auc")


def _ours(X_train, X_test):
    rows = []
    scoring = {name: get_scorer(name) for name in METRICS}
    for model in (Popularity(), ItemKNN(), UserKNN(), EASE()):
        start = time.perf_counter()
        model.fit(X_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        scores = {name: scorer(model, X_test) for name, scorer in scoring.items()}
        eval_s = time.perf_counter() - start
        start = time.perf_counter()
        model.recommend(np.unique(X_test["user_id"]), k=100)
        rank_s = time.perf_counter() - start
        rows.append(
            {
                "library": "sk_recsys",
                "model": repr(model),
                **scores,
                "fit_s": fit_s,
                "rank_s": rank_s,
                "eval_s": eval_s,
            }
        )
    return rows


def _peer_rows(X_train, X_test):
    """skrecsys 0.9 with default settings, scored by our metric functions."""
    try:
        import skrecsys
        from skrecsys.recommendation import (
            EASE as PeerEASE,
        )
        from skrecsys.recommendation import (
            ItemKNNRecommender,
            MostPopularRecommender,
        )
    except ImportError:
        print("skrecsys is not installed (pip install -e .[bench]); peers skipped")
        return []
    train = X_train.iloc[:, :2].to_numpy()
    users = np.unique(X_test["user_id"])
    rows = []
    for model in (MostPopularRecommender(), ItemKNNRecommender(), PeerEASE()):
        start = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        ids, _ = model.recommend(users, n_recommendations=100)
        rank_s = time.perf_counter() - start
        catalog = {item: j for j, item in enumerate(model.item_ids_)}
        # Test items the model never saw stay relevant (as in our scorer): they
        # get columns of their own that no list can reach.
        unseen = sorted(set(X_test["item_id"]) - set(catalog))
        columns_of = {
            **catalog,
            **{item: len(catalog) + j for j, item in enumerate(unseen)},
        }
        relevant = np.zeros((len(users), len(columns_of)))
        for user, item in X_test[["user_id", "item_id"]].itertuples(index=False):
            relevant[np.searchsorted(users, user), columns_of[item]] = 1
        # The top-100 lists as scores: rank r scores -r, the rest -inf.
        scores = np.full(relevant.shape, -np.inf)
        columns = np.vectorize(catalog.get)(ids)
        scores[np.arange(len(users))[:, None], columns] = -np.arange(100)[None, :]
        metrics = {
            "ndcg@10": ndcg_at_k(relevant, scores, k=K),
            "precision@10": precision_at_k(relevant, scores, k=K),
            "recall@10": recall_at_k(relevant, scores, k=K),
            "map@10": map_at_k(relevant, scores, k=K),
            "hit_rate@10": hit_rate_at_k(relevant, scores, k=K),
            "auc": None,
        }
        rows.append(
            {
                "library": f"skrecsys {skrecsys.__version__}",
                "model": repr(model),
                **metrics,
                "fit_s": fit_s,
                "rank_s": rank_s,
                "eval_s": None,
            }
        )
    return rows


def main():
    home = data_home()
    X_train, X_test, _, _ = load_movielens(
        "100k", split="ua", data_home=home, return_X_y=True
    )
    rows = _ours(X_train, X_test) + _peer_rows(X_train, X_test)
    header = f"{'library':<16} {'model':<40} " + " ".join(f"{m:>12}" for m in METRICS)
    print(header + f" {'fit_s':>7} {'rank_s':>7} {'eval_s':>7}")
    for row in rows:
        values = " ".join(
            f"{row[m]:>12.4f}" if row[m] is not None else f"{'-':>12}" for m in METRICS
        )
        print(
            f"{row['library']:<16} {row['model']:<40} {values} "
            f"{row['fit_s']:>7.3f} {row['rank_s']:>7.3f} "
            + (f"{row['eval_s']:>7.3f}" if row["eval_s"] is not None else f"{'-':>7}")
        )
    path = write_result(
        "movielens100k_ua_baselines",
        {
            "title": "MovieLens-100K ua, implicit, full catalog: non-neural models",
            "protocol": (
                "train ua.base as implicit feedback; rank all 1,682 items for the "
                "943 test users, training items excluded; the 10 ua.test items per "
                "user are relevant; metrics from sk_recsys.metrics"
            ),
            "columns": ["library", "model", *METRICS, "fit_s", "rank_s", "eval_s"],
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
