"""
Explaining a recommendation
===========================

``model.explain(user, item, n=5)`` returns a DataFrame of ``reason`` and
``weight``, largest first, where the weights are additive parts of the
item's score for that user. Collaborative models explain with the user's
history items; content models with the item's features (gradient x input:
one reason per numeric feature, per word of the text and one for the image).
A positive weight pushes the item up for this user, a negative one down.
"""

# %%
import matplotlib.pyplot as plt

from sk_recsys.datasets import make_interactions
from sk_recsys.models import EASE, ContentRecommender, ItemKNN

data = make_interactions(
    n_users=150, n_items=100, interactions_per_user=20, random_state=0
)
X, titles = data.X, data.item_features["title"]
user = X["user_id"].iloc[0]

# %%
# History items
# -------------
# For :class:`~sk_recsys.models.ItemKNN` the weight of a history item ``j`` is
# ``sim(i, j) r_uj``; for :class:`~sk_recsys.models.EASE` it is
# ``x_uj B_ji``. The weights of all history items add up to the score.
knn = ItemKNN().fit(X)
ids, scores = knn.recommend([user], k=3)
item = ids[0, 0]
print(f"top item for user {user}: {item} ({titles[item]!r}), score {scores[0, 0]:.3f}")
why = knn.explain(user, item, n=5)
why["title"] = titles[why["reason"]].to_numpy()
print(why)
print("sum of every weight:", knn.explain(user, item, n=1000)["weight"].sum().round(3))

ease_why = EASE(l2=50.0).fit(X).explain(user, item, n=5)
print(ease_why)

# %%
# Item features
# -------------
# A :class:`~sk_recsys.models.ContentRecommender` explains the same item by
# what it is. The synthetic titles are drawn mostly from the words of the
# item's category, and the numeric features are noisy copies of its latent
# factors, so both should show up.
content = ContentRecommender(
    n_factors=16,
    encoder_width=16,
    max_epochs=10,
    batch_size=256,
    lr=0.03,
    random_state=0,
).fit(X, item_features=data.item_features)
features = content.explain(user, item, n=8)
print(features)

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(features["reason"][::-1], features["weight"][::-1])
ax.axvline(0, color="black", linewidth=0.5)
ax.set_xlabel(f"contribution to the score of item {item} for user {user}")
fig.tight_layout()
