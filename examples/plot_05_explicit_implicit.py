"""
Explicit and implicit feedback
==============================

``y`` is optional. With ratings (explicit feedback) a model can predict the
rating a user would give; without them (``y=None``, implicit feedback) every
row is an interaction worth 1 and the model learns what users pick. The two
are different tasks with different metrics: RMSE of the predicted ratings
against ranking metrics of the recommended lists. A model that predicts
ratings well does not necessarily rank the catalog well, because the rating
of an item says nothing about the many items a user never picked.
"""

# %%
import matplotlib.pyplot as plt

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer, make_ranking_scorer, rmse
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import ItemKNN, MatrixFactorization

X, y = make_interactions(n_users=300, n_items=200, random_state=0, return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print("ratings:", {int(r): int((y == r).sum()) for r in sorted(set(y))})

# %%
# The same class, fitted both ways
# --------------------------------
# :class:`~sk_recsys.models.MatrixFactorization` with ``loss="auto"`` fits the
# squared error to ``y`` when it gets ratings and Bayesian personalised ranking
# on sampled negatives when it does not.
params = {"n_factors": 16, "lr": 0.01, "max_epochs": 10, "random_state": 0}
explicit = MatrixFactorization(**params).fit(X_train, y_train)  # loss: mse
implicit = MatrixFactorization(**params).fit(X_train)  # loss: bpr
print("explicit predictions:", explicit.predict(X_test.head()).round(2))
print("true ratings:        ", y_test[:5])
print("explicit RMSE:", round(rmse(y_test, explicit.predict(X_test)), 3))
print("implicit scores are not ratings:", implicit.predict(X_test.head()).round(2))

# %%
# Ranking quality
# ---------------
# ``relevance_threshold`` makes only well-rated held-out rows relevant:
# ``get_scorer`` names take every held-out row, ``make_ranking_scorer`` takes
# the threshold. Both ways, the model fitted on interactions ranks better.
scorers = {
    "NDCG@10, every held-out row": get_scorer("ndcg@10"),
    "NDCG@10, rows rated 4 or 5": make_ranking_scorer(
        "ndcg", k=10, relevance_threshold=4
    ),
}
models = {
    "MF on ratings (mse)": explicit,
    "MF on interactions (bpr)": implicit,
    "ItemKNN on ratings": ItemKNN().fit(X_train, y_train),
    "ItemKNN on interactions": ItemKNN().fit(X_train),
}
results = {
    name: [scorer(model, X_test, y_test) for scorer in scorers.values()]
    for name, model in models.items()
}
for name, values in results.items():
    print(f"{name:26s}", [round(v, 3) for v in values])

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.barh(list(results), [values[0] for values in results.values()])
ax.set_xlabel("NDCG@10 on held-out rows")
fig.tight_layout()
