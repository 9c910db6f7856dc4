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
# Each modality carries a different part of an item's latent taste: the title
# mostly uses its category's words, the numeric columns are noisy copies of
# latent factors 0-2, and an image's colour (its mean brightness per channel)
# is a noisy copy of factors 3-5, under a stripe texture of random angle that
# carries nothing. First figure: the images of items from the lowest to the
# highest factor 3 (the red channel); second: each channel's mean brightness
# against its latent factor, over all items.
images = np.stack(items["image"].to_numpy())
factors = np.asarray(data.item_factors)[:, 3:6]
colour = images.mean(axis=(2, 3))
low, high = np.percentile(images, [1, 99])  # one scale for all, to keep colour


def to_rgb(image):
    return np.clip((image.transpose(1, 2, 0) - low) / (high - low), 0, 1)


fig, axes = plt.subplots(1, 8, figsize=(8, 1.4))
order = np.argsort(factors[:, 0])
shown = order[np.linspace(0, len(order) - 1, 8).astype(int)]
for ax, item in zip(axes, shown, strict=True):
    ax.imshow(to_rgb(images[item]))
    ax.set_title(f"f3={factors[item, 0]:.1f}", fontsize=7)
    ax.axis("off")
fig.tight_layout()

fig, axes = plt.subplots(1, 3, figsize=(8, 2.4))
for channel, (ax, name) in enumerate(zip(axes, ["red", "green", "blue"], strict=True)):
    ax.scatter(factors[:, channel], colour[:, channel], s=4, color=name)
    ax.set_xlabel(f"latent factor {3 + channel}", fontsize=7)
    ax.set_ylabel(f"mean {name}", fontsize=7)
    ax.tick_params(labelsize=6)
fig.tight_layout()
print(
    "correlation of colour and factors 3-5:",
    [round(float(np.corrcoef(factors[:, c], colour[:, c])[0, 1]), 2) for c in range(3)],
)

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
