"""
Cold start: new items and new users
===================================

A collaborative model knows an item only through the users who picked it, so
an item nobody has picked yet cannot be recommended from behaviour. Content
models read what an item *is*: give the features of every item, including
the new ones, as ``item_features`` at ``fit``, and the new items join the
catalog and get scores from their features.

New *users* are served from a history: ``recommend(users, history=...)``
folds them in where the model can, without refitting; anyone else gets the
popularity ranking.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sk_recsys.data import interaction_matrix, lookup_ids
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import ndcg_at_k
from sk_recsys.model_selection import ColdItemSplit
from sk_recsys.models import ContentRecommender, ItemKNN, Popularity

data = make_interactions(
    n_users=150, n_items=100, interactions_per_user=20, random_state=0
)
X = data.X

# %%
# New items
# ---------
# :class:`~sk_recsys.model_selection.ColdItemSplit` holds out *every* row of a
# sample of items. The models are fitted on the rest, with the features of all
# items, and then rank the held-out items for the users who picked them.
train, test = next(ColdItemSplit(0.2, random_state=0).split(X))
X_train, X_test = X.iloc[train], X.iloc[test]
cold_items = np.unique(X_test["item_id"])
users = np.unique(X_test["user_id"])
print(f"{len(cold_items)} new items, held out for {len(users)} users")

models = {
    "Popularity": Popularity(),
    "ItemKNN": ItemKNN(),
    "ContentRecommender": ContentRecommender(
        n_factors=16,
        encoder_width=16,
        max_epochs=10,
        batch_size=256,
        lr=0.03,
        random_state=0,
    ),
}
rows = lookup_ids(pd.Index(users), X_test["user_id"].to_numpy())
columns = lookup_ids(pd.Index(cold_items), X_test["item_id"].to_numpy())
y_true = interaction_matrix(rows, columns, shape=(len(users), len(cold_items)))
results = {}
for name, model in models.items():
    model.fit(X_train, item_features=data.item_features)
    # Scores of the new items only, in the order of ``cold_items``.
    scores = model.score_items(users, items=cold_items)
    results[name] = ndcg_at_k(y_true, scores, k=5)
    print(f"{name:20s} NDCG@5 among the new items: {results[name]:.3f}")

# %%
# The collaborative models give every new item the same score (nothing links
# them to anyone) and ties are broken against the model, so they score 0;
# the content model ranks the new items from their titles, numbers and
# images.
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(results), list(results.values()))
ax.set_xlabel("NDCG@5 among the new items")
fig.tight_layout()

# %%
# New users
# ---------
# Hold 30 users out of training entirely. At serving time each of them has
# five interactions, passed as ``history``; their other items are what we
# hope to recommend. :class:`~sk_recsys.models.ItemKNN` folds the history in
# (its score is linear in the user's row); without a history a new user gets
# the popularity ranking.
counts = X["user_id"].value_counts()
new_users = np.sort(counts.index[counts >= 10].to_numpy())[:30]
model = ItemKNN().fit(X[~X["user_id"].isin(new_users)])
items_of = X.groupby("user_id")["item_id"]
histories = [items_of.get_group(user).to_numpy()[:5] for user in new_users]
later = [items_of.get_group(user).to_numpy()[5:] for user in new_users]

for label, history in [("5 history items", histories), ("no history", None)]:
    ids, _ = model.recommend(new_users, k=10, history=history)
    recall = np.mean(
        [np.isin(items, top).mean() for items, top in zip(later, ids, strict=True)]
    )
    print(f"recall@10 of the new users, {label}: {recall:.3f}")
