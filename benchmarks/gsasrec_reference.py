"""gSASRec's reference code on our leave-last-out validation split.

Trains the ``GSASRec`` module of the authors' PyTorch port
(asash/gSASRec-pytorch: ``gsasrec.py`` and ``transformer_decoder.py``,
imported unchanged from ``--reference``, a checkout of that repository)
with its training step copied from its ``train_gsasrec.py``: Adam at its
default rate, ``--negatives`` uniform negatives per position, the gBCE
loss through its transformed positive logit in float64. One epoch is every
user once, in batches of 128 (the reference's "epoch" is 100 batches).
Every ``--every`` epochs the validation item of each user (the latest
training row of ``ml100k-loo``, :func:`benchmarks.suite.validation_fold`;
the test item is never read) is ranked over the full catalog with the
user's training items excluded, and NDCG@10 is recorded: the comparison
with our ``SASRec(loss="gbce")`` curve in
``results/sequential_selection_ml100k-loo.json``.

Run: ``python benchmarks/gsasrec_reference.py --reference PATH
[--epochs 100] [--every 10] [--factors 64] [--dropout 0.2]``.
Results go to ``results/gsasrec_reference_ml100k-loo.json`` after every
evaluation.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from benchmarks import _common, suite

BATCH = 128
MAX_LEN = 200


def _padded(sequence, length, pad):
    sequence = sequence[-length:]
    return np.concatenate([np.full(length - len(sequence), pad), sequence])


def gbce_loss(model, positives, n_items, n_negatives, t):
    """The reference's training loss for one batch (train_gsasrec.py)."""
    pad = n_items + 1
    negatives = torch.randint(1, pad, (*positives.shape, n_negatives))
    model_input = positives[:, :-1]
    hidden, _ = model(model_input)
    labels = positives[:, 1:]
    candidates = torch.cat([labels.unsqueeze(-1), negatives[:, 1:, :]], dim=-1)
    vectors = model.get_output_embeddings()(candidates)
    mask = (model_input != pad).float()
    logits = torch.einsum("bse, bsne -> bsn", hidden, vectors)
    truth = torch.zeros_like(logits)
    truth[:, :, 0] = 1
    alpha = n_negatives / (n_items - 1)
    beta = alpha * ((1 - 1 / alpha) * t + 1 / alpha)
    positive = logits[:, :, 0:1].to(torch.float64)
    negative = logits[:, :, 1:].to(torch.float64)
    eps = 1e-10
    top = torch.finfo(torch.float64).max
    probability = torch.clamp(torch.sigmoid(positive), eps, 1 - eps)
    adjusted = torch.clamp(probability.pow(-beta), 1 + eps, top)
    transformed = torch.clamp(1.0 / (adjusted - 1), eps, top).log()
    logits = torch.cat([transformed, negative], -1)
    per_position = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, truth, reduction="none"
    ).mean(-1)
    return (per_position * mask).sum() / mask.sum()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--negatives", type=int, default=256)
    parser.add_argument("--t", type=float, default=0.75)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.reference))
    from gsasrec import GSASRec  # the reference's module

    torch.manual_seed(0)
    torch.set_num_threads(1)
    config = suite.load_config()
    fold = suite.load_folds(config["datasets"]["ml100k-loo"], _common.data_home())[0]
    valid = suite.validation_fold(fold)
    order = np.argsort(valid.train["time"].to_numpy(), kind="stable")
    train = valid.train.iloc[order]
    n_items, pad = fold.n_items, fold.n_items + 1  # the reference counts from 1
    sequences = {u: g["item"].to_numpy() + 1 for u, g in train.groupby("user")}
    users = np.array(sorted(sequences))
    windows = torch.tensor(
        np.stack([_padded(sequences[u], MAX_LEN + 1, pad) for u in users])
    )
    target = valid.test.set_index("user")["item"]
    scored = np.array([u for u in users if u in target.index])
    inputs = torch.tensor(
        np.stack([_padded(sequences[u], MAX_LEN, pad) for u in scored])
    )
    targets = torch.tensor(target.loc[scored].to_numpy() + 1)
    model = GSASRec(
        n_items,
        sequence_length=MAX_LEN,
        embedding_dim=args.factors,
        num_heads=1,
        num_blocks=2,
        dropout_rate=args.dropout,
    )
    optimiser = torch.optim.Adam(model.parameters())

    def ndcg_at_10():
        model.eval()
        with torch.no_grad():
            hidden, _ = model(inputs)
            scores = hidden[:, -1] @ model.get_output_embeddings().weight.T
            scores[:, 0] = -np.inf
            scores[:, n_items + 1 :] = -np.inf
            for row, user in enumerate(scored):
                scores[row, torch.as_tensor(sequences[user])] = -np.inf
            rank = (scores > scores.gather(1, targets[:, None])).sum(1).double()
            gain = torch.where(rank < 10, 1 / torch.log2(rank + 2), 0.0)
        model.train()
        return float(gain.mean())

    rows, start = [], time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        shuffled = windows[torch.randperm(len(windows))]
        for first in range(0, len(windows), BATCH):
            batch = shuffled[first : first + BATCH]
            loss = gbce_loss(model, batch, n_items, args.negatives, args.t)
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
        if epoch % args.every == 0:
            seconds = (time.perf_counter() - start) / epoch
            rows.append(
                {
                    "epoch": epoch,
                    "ndcg@10": ndcg_at_10(),
                    "train_loss": loss.item(),
                    "epoch_s": seconds,
                }
            )
            print(rows[-1], flush=True)
            _common.write_result(
                "gsasrec_reference_ml100k-loo",
                {
                    "title": "gSASRec's reference code, ml100k-loo validation",
                    "protocol": (
                        f"asash/gSASRec-pytorch's GSASRec and training step, "
                        f"{args.factors} factors, 2 blocks, 1 head, dropout "
                        f"{args.dropout}, {MAX_LEN} items, {args.negatives} negatives "
                        f"per position, t={args.t}, batches of {BATCH}, an epoch is "
                        "every user once; NDCG@10 of each user's validation item, "
                        "full catalog, training items excluded; seed 0"
                    ),
                    "columns": ["epoch", "ndcg@10", "train_loss", "epoch_s"],
                    "formats": {"epoch_s": ".1f"},
                    "rows": rows,
                },
            )


if __name__ == "__main__":
    main()
