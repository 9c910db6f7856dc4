"""
Content, hybrid and multi-task models with text and image features
==================================================================

Side information goes to ``fit`` as a DataFrame indexed by the raw id. Each
column is read by its type: numbers are standardised, a ``str`` column is
text (words through a small CNN or GRU), a column of ``(C, H, W)`` arrays is
an image (a small CNN). Three models read them:

* :class:`~sk_recsys.models.ContentRecommender`: an item is what its
  features say; a user is a learned vector.
* :class:`~sk_recsys.models.HybridRecommender`: an MLP over the content
  encoding and the id embeddings, ``y = f(W1 x_content + W2 x_behaviour + b)``.
* :class:`~sk_recsys.models.MultiTaskRecommender`: a shared body with a
  rating head and an interaction head.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer, rmse
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import (
    ContentRecommender,
    HybridRecommender,
    MultiTaskRecommender,
    Popularity,
)

data = make_interactions(
    n_users=150, n_items=100, interactions_per_user=20, random_state=0
)
items = data.item_features
print(items[["title", "numeric_0", "numeric_1", "numeric_2"]].head())
print("image of one item:", items["image"].iloc[0].shape)

# %%
# The synthetic images encode an item's category in the angle and colours of
# their stripes, under noise (top: one item of each category; bottom: the mean
# image of the category). The titles mostly use the category's words.
images = np.stack(items["image"].to_numpy()).transpose(0, 2, 3, 1)
categories = np.asarray(data.item_categories)


def to_rgb(image):
    return (image - image.min()) / (image.max() - image.min())


fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
for category, (top, bottom) in enumerate(axes.T):
    top.imshow(to_rgb(images[categories == category][0]))
    bottom.imshow(to_rgb(images[categories == category].mean(axis=0)))
    top.set_title(f"category {category}", fontsize=7)
    top.axis("off")
    bottom.axis("off")
fig.tight_layout()

# %%
# Fit the three models
# --------------------
# Small encoders and a few epochs on 2,500 training rows keep this quick; see
# each class for the knobs (``text_encoder="rnn"``, ``encoder_width``,
# ``vocab_size``...).
X_train, X_test, y_train, y_test = train_test_split(
    data.X, data.y, test_size=0.2, random_state=0
)
common = {
    "max_epochs": 10,
    "batch_size": 256,
    "lr": 0.03,
    "random_state": 0,
    "encoder_width": 16,
}
models = {
    "Popularity": Popularity(),
    "ContentRecommender": ContentRecommender(n_factors=16, **common),
    "HybridRecommender": HybridRecommender(n_factors=16, **common),
    "MultiTaskRecommender": MultiTaskRecommender(n_factors=16, **common),
}
ndcg = get_scorer("ndcg@10")
results = {}
for name, model in models.items():
    # The multi-task model learns the ratings too; the others rank only.
    y = y_train if name == "MultiTaskRecommender" else None
    model.fit(X_train, y, item_features=items)
    results[name] = ndcg(model, X_test, y_test)
    print(f"{name:22s} NDCG@10 {results[name]:.3f}")

# %%
# The multi-task model predicts ratings with its rating head and ranks with
# its interaction head.
multitask = models["MultiTaskRecommender"]
print("rating RMSE:", round(rmse(y_test, multitask.predict(X_test)), 3))

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(results), list(results.values()))
ax.set_xlabel("NDCG@10 on held-out rows")
fig.tight_layout()
