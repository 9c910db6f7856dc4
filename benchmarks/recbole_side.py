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

Resuming: after every evaluated epoch the run writes ``saved/latest.pth``
(the model, the optimizer, RecBole's early-stopping state, every random
generator the training draws from, and the epochs so far with their fit
seconds), replacing the previous one in one rename; the best epoch's
weights are ``saved/best.pth``. Started again in the same directory, it
goes on from the epoch after the latest and ends as the uninterrupted run
would, to the bit (``tests/test_benchmark_suite.py``); its fit time is the
sum over the processes, less the unfinished epoch a stopped process lost.
A run whose training had finished goes straight to scoring. The suite keeps
the directory of a RecBole fit between runs for this (``RecBole.resumable``).
``$SK_RECSYS_SIDE_PAUSE_AFTER_EPOCHS`` makes a process stop after that many
epochs of its own (exit status 75), as a session's end would: only the
resume test sets it.
"""

from __future__ import annotations

import json
import os
import random
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

#: Exit status of a process stopped by ``$SK_RECSYS_SIDE_PAUSE_AFTER_EPOCHS``.
PAUSED = 75


class _Paused(Exception):
    """Raised by the epoch callback to stop a process after its epochs."""


def _generators(train_data) -> dict:
    """The state of every random generator an epoch of training draws from."""
    # RecBole's samplers draw from numpy's legacy global generator.
    states = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002
        "python": random.getstate(),
    }
    if getattr(train_data, "generator", None) is not None:
        states["loader"] = train_data.generator.get_state()
    return states


def _restore_generators(train_data, states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])  # noqa: NPY002
    random.setstate(states["python"])
    if "loader" in states:
        train_data.generator.set_state(states["loader"])


def _resume(trainer, model, checkpoint: dict) -> None:
    """What ``Trainer.resume_checkpoint`` restores, from a loaded checkpoint.

    (RecBole's own reloads the file with torch's default ``weights_only``,
    which refuses its pickled config under torch >= 2.6.)
    """
    trainer.start_epoch = checkpoint["epoch"] + 1
    trainer.cur_step = checkpoint["cur_step"]
    trainer.best_valid_score = checkpoint["best_valid_score"]
    model.load_state_dict(checkpoint["state_dict"])
    model.load_other_parameter(checkpoint.get("other_parameter"))
    trainer.optimizer.load_state_dict(checkpoint["optimizer"])


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

    saved = work / "saved"
    saved.mkdir(exist_ok=True)
    latest, best_file = saved / "latest.pth", saved / "best.pth"
    progress = {"epochs": [], "fit_s": 0.0, "finished": False}
    if latest.exists():
        checkpoint = torch.load(latest, weights_only=False)
        _resume(trainer, model, checkpoint)
        _restore_generators(train_data, checkpoint["generators"])
        progress = checkpoint["progress"]
        print(
            f"recbole {job['estimator']}: resuming after epoch "
            f"{checkpoint['epoch'] + 1} ({progress['fit_s']:.0f} s of fit so far)",
            file=sys.stderr,
            flush=True,
        )
    trainer.saved_model_file = str(best_file)
    epochs = progress["epochs"]
    done_before = len(epochs)  # this process pauses after `pause` of its own
    pause = int(os.environ.get("SK_RECSYS_SIDE_PAUSE_AFTER_EPOCHS", 0))
    start = time.perf_counter()
    last = [start]

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
        # at most: early stopping may end the run sooner
        left = (trainer.epochs - epoch - 1) * np.mean([e["seconds"] for e in epochs])
        print(
            f"recbole {job['estimator']}: epoch {epoch + 1} of at most "
            f"{trainer.epochs}, train loss {epochs[-1]['train_loss']:.4f}, valid "
            f"MRR@10 {valid_score:.4f}, {epochs[-1]['seconds']:.1f} s "
            f"(at most {left / 3600:.1f} h to go at this pace)",
            file=sys.stderr,
            flush=True,
        )
        # RecBole stops after this call when the early stop fires or the
        # epochs run out; a resumed run must not train past that.
        stopped = trainer.cur_step > trainer.stopping_step
        finished = stopped or epoch + 1 >= trainer.epochs
        state = {
            "config": config,
            "epoch": epoch,
            "cur_step": trainer.cur_step,
            "best_valid_score": trainer.best_valid_score,
            "state_dict": model.state_dict(),
            "other_parameter": model.other_parameter(),
            "optimizer": trainer.optimizer.state_dict(),
            "generators": _generators(train_data),
            "progress": {
                "epochs": epochs,
                "fit_s": progress["fit_s"] + now - start,
                "finished": finished,
            },
        }
        torch.save(state, saved / "latest.tmp", pickle_protocol=4)
        os.replace(saved / "latest.tmp", latest)
        if pause and len(epochs) - done_before >= pause and not finished:
            raise _Paused
        return False  # never stops the run: RecBole's own early stopping does

    if progress["finished"]:
        fit_s = progress["fit_s"]
    else:
        try:
            trainer.fit(
                train_data, valid_data, verbose=False, saved=True, callback_fn=record
            )
        except _Paused:
            sys.exit(PAUSED)
        fit_s = progress["fit_s"] + time.perf_counter() - start
    # The best epoch on validation, as RecBole's own test step would load it.
    state = torch.load(best_file, weights_only=False)
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
