"""Fit one RecBole model on a suite fold; runs in RecBole's own venv.

RecBole 1.2.1 pins ``ray<=2.6.3``, which needs numpy 1.x, so it cannot
share our environment (see ``RECBOLE.md``). The suite's ``recbole``
adapter (:class:`benchmarks.peers.RecBole`) writes the fold's training rows
to a directory (``train.csv`` and ``job.json``, as
:class:`benchmarks.peers._SideEnvironment` describes) and runs this script
with the side venv's Python; nothing here imports sk_recsys, and the scores
come back as a ``.npy`` file that the suite evaluates with our metric code,
like every other model's.

The rows become RecBole's atomic file ``fold/fold.inter`` (``user_id:token
item_id:token timestamp:float``): the tokens are the fold's user and item
indices, and the timestamp is the row's position in the user's sequence
(the suite's order: by time, ties by row order), so RecBole's time sort
cannot reorder ties.

What it does, at RecBole's defaults except for ``params``: RecBole's own
split ``LS: valid_only`` holds out each user's latest training row as its
validation item (the same item the suite's validation split holds out),
trains on the prefixes of the rest (its data augmentation), stops early on
its validation MRR@10 (``stopping_step`` 10, up to ``epochs``), and keeps
the best epoch's weights. Then every user is scored after the *whole*
training sequence (the validation item included, the last
``MAX_ITEM_LIST_LENGTH`` items), over every item, in the fold's item order.

A general (non-sequential) model, LightGCN or MultiVAE, is fitted the way
RecBole's own quick start does: its split ``RS: [0.9, 0.1, 0.0]`` grouped
by user holds out a random 10% of each user's training rows for early
stopping (the suite's own validation split is a seeded 10% of each user's
rows too), it trains on the other 90% with its default negative sampling,
keeps the best epoch, and every user is scored by ``full_sort_predict``
from that 90%.

Output: ``scores.npy`` (float32, ``n_users x n_items``) and ``result.json``
(fit seconds of ``trainer.fit`` alone, and a curve: per epoch the training
loss, validation MRR@10 and seconds, the epochs run, the best one, the mean
epoch time and RecBole's training settings).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.data.interaction import Interaction
from recbole.utils import ModelType, get_model, get_trainer, init_seed


def main(directory: str) -> None:
    work = Path(directory)
    job = json.loads((work / "job.json").read_text())
    torch.set_num_threads(int(job.get("threads", 1)))
    rows = pd.read_csv(work / "train.csv")
    (work / "fold").mkdir(exist_ok=True)
    pd.DataFrame(
        {
            "user_id:token": rows["user"],
            "item_id:token": rows["item"],
            "timestamp:float": rows["position"],
        }
    ).to_csv(work / "fold" / "fold.inter", sep="\t", index=False)
    general = get_model(job["estimator"]).type == ModelType.GENERAL
    if general:
        split = {
            "load_col": {"inter": ["user_id", "item_id"]},
            "eval_args": {
                "split": {"RS": [0.9, 0.1, 0.0]},
                "order": "RO",
                "mode": "full",
                "group_by": "user",
            },
        }
    else:
        split = {
            "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
            "eval_args": {
                "split": {"LS": "valid_only"},
                "order": "TO",
                "mode": "full",
                "group_by": "user",
            },
            "train_neg_sample_args": None,
        }
    config = Config(
        model=job["estimator"],
        dataset="fold",
        config_dict={
            "data_path": str(work),
            "checkpoint_dir": str(work / "saved"),
            **split,
            "use_gpu": False,
            "show_progress": False,
            "reproducibility": True,
            **job.get("params", {}),
            "seed": int(job.get("seed", 0)),
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, _ = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset)
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    epochs = []
    last = [time.perf_counter()]

    def record(epoch, valid_score):
        now = time.perf_counter()
        epochs.append(
            {
                "epoch": epoch + 1,
                "train_loss": float(trainer.train_loss_dict[epoch]),
                "valid_mrr@10": float(valid_score),
                "seconds": now - last[0],
            }
        )
        last[0] = now
        print(
            f"recbole {job['estimator']}: epoch {epoch + 1}, train loss "
            f"{epochs[-1]['train_loss']:.4f}, valid MRR@10 {valid_score:.4f}, "
            f"{epochs[-1]['seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        return False  # never stops the run: RecBole's own early stopping does

    start = time.perf_counter()
    last[0] = start
    trainer.fit(train_data, valid_data, verbose=False, saved=True, callback_fn=record)
    fit_s = time.perf_counter() - start
    # The best epoch on validation, as RecBole's own test step would load it.
    state = torch.load(trainer.saved_model_file, weights_only=False)
    model.load_state_dict(state["state_dict"])
    model.eval()

    if general:
        scores = score_users(model, dataset, job)
    else:
        scores = score_all(model, dataset, rows, job, config)
    np.save(work / "scores.npy", scores)
    best = max(epochs, key=lambda row: row["valid_mrr@10"]) if epochs else None
    settings = (
        "MAX_ITEM_LIST_LENGTH",
        "epochs",
        "stopping_step",
        "train_batch_size",
        "learning_rate",
        "loss_type",
    )
    curve = {
        "epoch": [row["epoch"] for row in epochs],
        "train_loss": [row["train_loss"] for row in epochs],
        "valid_mrr@10": [row["valid_mrr@10"] for row in epochs],
        "epoch_s": [row["seconds"] for row in epochs],
        "n_iter": len(epochs),
        "best_epoch": best["epoch"] if best else None,
        "mean_epoch_s": fit_s / max(1, len(epochs)),
        "recbole_config": {key: config[key] for key in settings},
    }
    result = {"fit_s": fit_s, "curve": curve}
    (work / "result.json").write_text(json.dumps(result, indent=1))


def _internal(dataset, field: str, n: int) -> np.ndarray:
    """Our index -> RecBole's internal id (0, its padding, where it has none)."""
    tokens = dataset.field2token_id[field]
    return np.array([tokens.get(str(i), 0) for i in range(n)])


def score_users(model, dataset, job) -> np.ndarray:
    """A general model's scores of every item for every user it knows."""
    n_users, n_items = job["n_users"], job["n_items"]
    users = _internal(dataset, "user_id", n_users)
    items = _internal(dataset, "item_id", n_items)
    known = items > 0
    scores = np.full((n_users, n_items), -np.inf, dtype=np.float32)
    owners = np.flatnonzero(users > 0)
    block = 512
    with torch.no_grad():
        for start in range(0, len(owners), block):
            rows = owners[start : start + block]
            interaction = Interaction({model.USER_ID: torch.from_numpy(users[rows])})
            full = model.full_sort_predict(interaction).reshape(len(rows), -1)
            scores[rows[:, None], np.flatnonzero(known)] = full[:, items[known]].numpy()
    return scores


def score_all(model, dataset, frame, job, config) -> np.ndarray:
    """Every user's scores over every item, after the whole training sequence."""
    rows = frame[["user", "item", "position"]].to_numpy(np.int64)
    rows = rows[np.lexsort((rows[:, 2], rows[:, 0]))]
    n_users, n_items = job["n_users"], job["n_items"]
    max_len = config["MAX_ITEM_LIST_LENGTH"]
    # Our item index -> RecBole's internal id (0 is its padding, which an
    # item without training rows maps to: RecBole cannot score it).
    internal = _internal(dataset, "item_id", n_items)
    known = internal > 0
    sequences = np.split(rows[:, 1], np.flatnonzero(np.diff(rows[:, 0])) + 1)
    owners = rows[np.r_[0, np.flatnonzero(np.diff(rows[:, 0])) + 1], 0]
    scores = np.full((n_users, n_items), -np.inf, dtype=np.float32)
    block = 512
    with torch.no_grad():
        for start in range(0, len(owners), block):
            chunk = sequences[start : start + block]
            padded = np.zeros((len(chunk), max_len), dtype=np.int64)
            lengths = np.empty(len(chunk), dtype=np.int64)
            for row, sequence in enumerate(chunk):
                tail = internal[sequence[-max_len:]]
                padded[row, : len(tail)] = tail
                lengths[row] = len(tail)
            interaction = Interaction(
                {
                    model.ITEM_SEQ: torch.from_numpy(padded),
                    model.ITEM_SEQ_LEN: torch.from_numpy(lengths),
                }
            )
            full = model.full_sort_predict(interaction).reshape(len(chunk), -1)
            rows = owners[start : start + block, None]
            scores[rows, np.flatnonzero(known)] = full[:, internal[known]].numpy()
    return scores


if __name__ == "__main__":
    main(sys.argv[1])
