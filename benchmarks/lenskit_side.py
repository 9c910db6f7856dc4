"""Fit one LensKit scorer on a suite fold; runs in LensKit's own venv.

LensKit 2025.8 requires ``pandas~=2.0`` and we pin pandas 3, so it runs in
a side virtual environment (``SIDE_ENVIRONMENTS.md``). The suite's
``lenskit`` adapter (:class:`benchmarks.peers.LensKit`) writes the fold's
training rows to a directory (``train.csv``, ``job.json``, as
:class:`benchmarks.peers._SideEnvironment` describes) and runs this script
with that environment's Python; nothing here imports sk_recsys.

The rows are implicit feedback (one interaction each, as for every ranking
model of the suite). ``job["estimator"]`` names the scorer class of
``lenskit.als``, ``lenskit.knn`` or ``lenskit.flexmf``; ``job["params"]``
its configuration, over LensKit's defaults (the kNN scorers get
``feedback="implicit"`` unless told otherwise). ``train`` is timed alone;
then every user is scored over every item from their training items (a
``RecQuery`` with the user's row), in the fold's item order.

Output: ``scores.npy`` (float32, ``n_users x n_items``, ``-inf`` where
LensKit returns no score) and ``result.json`` (``fit_s``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

_MODULES = {
    "ImplicitMFScorer": "lenskit.als",
    "ItemKNNScorer": "lenskit.knn",
    "UserKNNScorer": "lenskit.knn",
    "EASEScorer": "lenskit.knn",
    "SLIMScorer": "lenskit.knn",
    "FlexMFImplicitScorer": "lenskit.flexmf",
}
_IMPLICIT_KNN = ("ItemKNNScorer", "UserKNNScorer")


def main(directory: str) -> None:
    import importlib

    from lenskit.data import ItemList, RecQuery, from_interactions_df
    from lenskit.training import TrainingOptions

    work = Path(directory)
    job = json.loads((work / "job.json").read_text())
    torch.set_num_threads(int(job.get("threads", 1)))
    rows = pd.read_csv(work / "train.csv")
    estimator = job["estimator"]
    if estimator not in _MODULES:
        raise SystemExit(f"unknown LensKit scorer {estimator!r}")
    params = dict(job.get("params", {}))
    if estimator in _IMPLICIT_KNN:
        params.setdefault("feedback", "implicit")
    scorer = getattr(importlib.import_module(_MODULES[estimator]), estimator)(**params)
    data = from_interactions_df(
        rows[["user", "item"]].rename(columns={"user": "user_id", "item": "item_id"})
    )
    start = time.perf_counter()
    scorer.train(data, TrainingOptions(rng=int(job.get("seed", 0))))
    fit_s = time.perf_counter() - start

    n_users, n_items = job["n_users"], job["n_items"]
    scores = np.full((n_users, n_items), -np.inf, dtype=np.float32)
    catalog = ItemList(item_ids=np.arange(n_items))
    for user in np.unique(rows["user"]):
        query = RecQuery(user_id=int(user), user_items=data.user_row(int(user)))
        out = scorer(query=query, items=catalog)
        values = np.asarray(out.scores(), dtype=np.float32)
        ids = np.asarray(out.ids(), dtype=np.int64)
        known = np.isfinite(values)
        scores[user, ids[known]] = values[known]
    np.save(work / "scores.npy", scores)
    (work / "result.json").write_text(json.dumps({"fit_s": fit_s}))


if __name__ == "__main__":
    main(sys.argv[1])
