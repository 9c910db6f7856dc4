"""
Callbacks: early stopping on NDCG, checkpoints
==============================================

The neural models are skorch nets, so skorch's callbacks work as they are.
What a recommender adds is *what* to monitor: the training loss says little
about the ranking, and a random row split would leak a user's rows into
validation. :class:`~sk_recsys.model_selection.UserHoldout` keeps a share of
each user's rows out of training, and
:class:`~sk_recsys.callbacks.RankingScoring` ranks the whole catalog for the
validation users after every epoch and records a ranking metric that
``EarlyStopping``, ``Checkpoint`` and ``LRScheduler`` can monitor.
"""

# %%
import os
import tempfile

import matplotlib.pyplot as plt
from skorch.callbacks import Checkpoint, EarlyStopping, LoadInitState

from sk_recsys.callbacks import RankingScoring
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import UserHoldout, train_test_split
from sk_recsys.models import MatrixFactorization

X, _ = make_interactions(n_users=300, n_items=200, random_state=0, return_X_y=True)
X_train, X_test = train_test_split(X, random_state=0)
checkpoint_dir = tempfile.mkdtemp()

# %%
# Early stopping on the validation NDCG
# -------------------------------------
# ``RankingScoring("ndcg@10")`` records ``valid_ndcg@10`` and a
# ``valid_ndcg@10_best`` flag. Training stops when NDCG has not improved for
# ``patience`` epochs, and ``Checkpoint`` saves the parameters (and the
# history and optimizer) of the best epoch. Here we load the best parameters
# back after looking at the whole history; ``Checkpoint(load_best=True)``
# would load them, and the history up to that epoch, at the end of training.
model = MatrixFactorization(
    n_factors=32,
    lr=0.02,
    max_epochs=40,
    random_state=0,
    train_split=UserHoldout(0.1, random_state=0),
    callbacks=[
        RankingScoring("ndcg@10"),
        EarlyStopping(monitor="valid_ndcg@10", lower_is_better=False, patience=4),
        Checkpoint(monitor="valid_ndcg@10_best", dirname=checkpoint_dir),
    ],
)
model.fit(X_train)
model.load_params(f_params=os.path.join(checkpoint_dir, "params.pt"))
history = model.history
epochs = history[:, "epoch"]
ndcg = history[:, "valid_ndcg@10"]
best = max(range(len(ndcg)), key=ndcg.__getitem__)
print(
    f"stopped after {len(epochs)} epochs, best epoch {epochs[best]}: {ndcg[best]:.3f}"
)
print("test NDCG@10, best parameters:", round(get_scorer("ndcg@10")(model, X_test), 3))

fig, ax1 = plt.subplots(figsize=(6, 3.5))
(loss_line,) = ax1.plot(
    epochs, history[:, "train_loss"], color="tab:gray", label="training loss"
)
ax1.set_xlabel("epoch")
ax1.set_ylabel("training loss (BPR)")
ax2 = ax1.twinx()
(ndcg_line,) = ax2.plot(
    epochs, ndcg, color="tab:blue", marker="o", label="validation NDCG@10"
)
ax2.axvline(epochs[best], color="tab:blue", linestyle=":")
ax2.set_ylabel("validation NDCG@10")
ax2.legend(handles=[loss_line, ndcg_line], loc="center right")
fig.tight_layout()

# %%
# The loss goes on falling after the ranking has stopped improving: stop on
# the metric that matters.
#
# Resuming from a checkpoint
# --------------------------
# ``LoadInitState`` loads the checkpoint before training starts, so a new model
# built on the same data continues from the best epoch instead of from
# scratch: its history goes on from the best epoch (here for three more
# epochs, with the same validation split).
resumed = MatrixFactorization(
    n_factors=32,
    lr=0.02,
    max_epochs=3,
    random_state=0,
    train_split=UserHoldout(0.1, random_state=0),
    callbacks=[
        RankingScoring("ndcg@10"),
        LoadInitState(Checkpoint(dirname=checkpoint_dir)),
    ],
)
resumed.fit(X_train)
for row in resumed.history[-4:]:
    print(f"epoch {row['epoch']}: validation NDCG@10 {row['valid_ndcg@10']:.3f}")
