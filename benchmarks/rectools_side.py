"""Fit one RecTools model on a suite fold; runs in RecTools's own venv.

RecTools 0.19 pins ``numpy<2``, so it runs in a side virtual environment
(``SIDE_ENVIRONMENTS.md``). The suite's ``rectools`` adapter
(:class:`benchmarks.peers.RecTools`) writes the fold's training rows to a
directory (``train.csv``, ``job.json``, as
:class:`benchmarks.peers._SideEnvironment` describes) and runs this script
with that environment's Python; nothing here imports sk_recsys.

The rows become a RecTools ``Dataset`` (weight 1 each) whose datetime is
the row's position in the user's sequence (the suite's order: by time, ties
by row order), which is what the sequential models (``SASRecModel``,
``BERT4RecModel``) read. ``job["estimator"]`` names a class of
``rectools.models`` and ``job["params"]`` its parameters over RecTools's
defaults (the transformers with ``deterministic=True`` and no progress
output). ``fit`` is timed alone; then every user is scored over every item
(``recommend`` with ``k`` the catalog and nothing filtered), in the fold's
item order.

Output: ``scores.npy`` (float32, ``n_users x n_items``, ``-inf`` where
RecTools returns no score) and ``result.json`` (``fit_s``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

_TRANSFORMERS = ("SASRecModel", "BERT4RecModel")


def main(directory: str) -> None:
    from rectools import Columns, models
    from rectools.dataset import Dataset

    work = Path(directory)
    job = json.loads((work / "job.json").read_text())
    torch.set_num_threads(int(job.get("threads", 1)))
    seed = int(job.get("seed", 0))
    rows = pd.read_csv(work / "train.csv")
    estimator = job["estimator"]
    params = dict(job.get("params", {}))
    if estimator in _TRANSFORMERS:
        from pytorch_lightning import seed_everything

        seed_everything(seed, verbose=False)
        params.setdefault("deterministic", True)
        params.setdefault("verbose", 0)
    model = getattr(models, estimator)(**params)
    frame = pd.DataFrame(
        {
            Columns.User: rows["user"],
            Columns.Item: rows["item"],
            Columns.Weight: 1.0,
            Columns.Datetime: pd.to_datetime(rows["position"], unit="s"),
        }
    )
    dataset = Dataset.construct(frame)
    start = time.perf_counter()
    model.fit(dataset)
    fit_s = time.perf_counter() - start

    n_users, n_items = job["n_users"], job["n_items"]
    users = np.unique(rows["user"])
    known_items = int(rows["item"].nunique())
    ranked = model.recommend(
        users=users, dataset=dataset, k=known_items, filter_viewed=False
    )
    scores = np.full((n_users, n_items), -np.inf, dtype=np.float32)
    scores[
        ranked[Columns.User].to_numpy(np.int64), ranked[Columns.Item].to_numpy(np.int64)
    ] = ranked[Columns.Score].to_numpy(np.float32)
    np.save(work / "scores.npy", scores)
    (work / "result.json").write_text(json.dumps({"fit_s": fit_s}))


if __name__ == "__main__":
    main(sys.argv[1])
