"""
Choosing a splitter, and why sampled metrics mislead
====================================================

How the held-out rows are chosen decides what a score means:

* :class:`~sk_recsys.model_selection.UserKFold` deals each user's rows over
  the folds: every test user also has training rows. The default for
  comparing and tuning personalised models.
* :class:`~sk_recsys.model_selection.LeaveLastOut` holds out each user's
  latest rows: "what will this user do next", with no future rows in
  training for that user.
* :class:`~sk_recsys.model_selection.TemporalSplit` cuts at one global time:
  nothing after the cut is seen in training, as in production; users first
  seen after it are cold.
* :class:`~sk_recsys.model_selection.ColdItemSplit` holds out every row of a
  sample of items: measures new-item cold start (see
  :ref:`sphx_glr_auto_examples_plot_07_cold_start.py`).

The second half shows why sk_recsys scores the *whole catalog* and never a
sample of candidates.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sk_recsys.data import interaction_matrix, lookup_ids, matrix_rows
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import ndcg_at_k
from sk_recsys.model_selection import (
    ColdItemSplit,
    LeaveLastOut,
    TemporalSplit,
    UserKFold,
)
from sk_recsys.models import ItemKNN, MatrixFactorization, Popularity

data = make_interactions(
    n_users=400, n_items=1000, interactions_per_user=20, random_state=0
)
X = data.X

# %%
# What each splitter holds out
# ----------------------------
splitters = {
    "UserKFold(5)": UserKFold(5, random_state=0),
    "LeaveLastOut(1)": LeaveLastOut(n=1),
    "TemporalSplit(0.2)": TemporalSplit(test_size=0.2),
    "ColdItemSplit(0.1)": ColdItemSplit(0.1, random_state=0),
}
for name, splitter in splitters.items():
    train, test = next(splitter.split(X))
    train_users = set(X["user_id"].iloc[train])
    train_items = set(X["item_id"].iloc[train])
    cold_users = (~X["user_id"].iloc[test].isin(train_users)).sum()
    cold_items = (~X["item_id"].iloc[test].isin(train_items)).sum()
    print(
        f"{name:20s} test rows {len(test):5d}, "
        f"test rows of users unseen in training {cold_users:4d}, "
        f"of items unseen in training {cold_items:4d}"
    )

# %%
# Sampled candidates against the full catalog
# -------------------------------------------
# A common shortcut ranks each held-out item among a few randomly sampled
# items (50 or 100) instead of the whole catalog. We score three models on one
# leave-last-out split both ways: the popularity baseline, a sharp
# neighbourhood model (three neighbours per item) and a smooth low-rank one
# (six factors). ``item_features`` with no columns puts every item of the
# synthetic catalog into each model's ``items_``, so each held-out item has a
# column; every model sees the same sampled candidates.
train, test = next(LeaveLastOut(n=1).split(X))
X_train, X_test = X.iloc[train], X.iloc[test]
users = X_test["user_id"].to_numpy()
models = {
    "Popularity": Popularity(),
    "ItemKNN(3 neighbours)": ItemKNN(n_neighbors=3),
    "MF(6 factors)": MatrixFactorization(
        n_factors=6, lr=0.01, max_epochs=10, random_state=0
    ),
}
n_candidates = [50, 100, 200, 500]
results = {}
for name, model in models.items():
    model.fit(X_train, item_features=data.item_features[[]])
    held_out = lookup_ids(pd.Index(model.items_), X_test["item_id"].to_numpy())
    y_true = interaction_matrix(
        np.arange(len(users)), held_out, shape=(len(users), model.n_items_)
    ).toarray()
    scores = model.score_items(users)
    seen = matrix_rows(model.interactions_, lookup_ids(pd.Index(model.users_), users))
    seen = seen.toarray() > 0
    scores[seen] = -np.inf  # never recommend what the user already has
    draws = np.random.default_rng(0).random(scores.shape)
    results[name] = {}
    for n in n_candidates:
        # The sampled protocol: the held-out item and ~n random unseen items.
        keep = ((draws < n / model.n_items_) & ~seen) | (y_true > 0)
        sampled = np.where(keep, scores, -np.inf)
        results[name][f"{n} sampled"] = ndcg_at_k(y_true, sampled, k=10)
    results[name]["full catalog"] = ndcg_at_k(y_true, scores, k=10)
table = pd.DataFrame(results).T
print(table.round(3).to_string())
for protocol in ["50 sampled", "full catalog"]:
    print(f"best personalised model on {protocol}: {table[protocol][1:].idxmax()}")

# %%
# The sampled numbers are several times the full-catalog ones (up to ten
# times for the popularity baseline): a random candidate is almost always a tail item
# that no model ranks high, so the held-out item only has to beat those.
# They also reorder the models: with 50 sampled candidates the smooth
# low-rank model comes out ahead, because it never ranks the held-out item
# far down, while on the full catalog the neighbourhood model, which puts
# more held-out items in the actual top 10, is better. Sampled metrics are
# not a cheaper estimate of the full-catalog ones; they measure something
# else (Krichene and Rendle, "On Sampled Metrics for Item Recommendation",
# KDD 2020). The scorers of :mod:`sk_recsys.metrics` always rank the whole
# catalog.
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, row in table.iterrows():
    ax.plot(range(len(row)), row.to_numpy(), marker="o", label=name)
ax.set_xticks(range(len(table.columns)), table.columns, rotation=15)
ax.set_ylabel("NDCG@10 (leave last out)")
ax.legend()
fig.tight_layout()
