"""
Quickstart
==========

Generate interactions, hold some out for each user, fit three recommenders
and compare them on the held-out rows with full-catalog ranking metrics.
Every model is a scikit-learn estimator over interaction rows: column 0 of
``X`` holds user ids, column 1 item ids.
"""

# %%
# Data
# ----
# :func:`~sk_recsys.datasets.make_interactions` plants latent tastes, a
# popularity skew, timestamps and item features, so personalised models have
# something to find. ``y`` holds 1-5 ratings; here we fit on the interactions
# alone (implicit feedback), the usual protocol for top-K recommendation.
import matplotlib.pyplot as plt

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import EASE, ItemKNN, MatrixFactorization, Popularity

X, y = make_interactions(n_users=300, n_items=200, random_state=0, return_X_y=True)
print(X.head())
X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
print(f"{len(X_train)} training rows, {len(X_test)} held-out rows")

# %%
# Fit and recommend
# -----------------
# ``recommend`` returns two arrays of shape ``(n_users, k)``, best first; the
# items a user saw in training are left out.
model = ItemKNN(n_neighbors=50).fit(X_train)
users = X_test["user_id"].unique()[:3]
item_ids, scores = model.recommend(users, k=5)
for user, items in zip(users, item_ids, strict=True):
    print(f"user {user}: {items.tolist()}")

# %%
# Compare models
# --------------
# A scorer ranks each model's whole catalog for the users of ``X_test``, hides
# their training items and counts the held-out rows as relevant.
scorers = {name: get_scorer(name) for name in ["precision@10", "recall@10", "ndcg@10"]}
models = {
    "Popularity": Popularity(),
    "ItemKNN": ItemKNN(n_neighbors=50),
    "EASE": EASE(l2=50.0),
    "MatrixFactorization": MatrixFactorization(
        n_factors=16, lr=0.01, max_epochs=15, random_state=0
    ),
}
results = {}
for name, estimator in models.items():
    estimator.fit(X_train)
    results[name] = {metric: s(estimator, X_test) for metric, s in scorers.items()}
    print(name, {metric: round(value, 3) for metric, value in results[name].items()})

# %%
# Personalised models beat the popularity baseline on every metric.
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(results), [r["ndcg@10"] for r in results.values()])
ax.set_xlabel("NDCG@10 on held-out rows")
fig.tight_layout()
