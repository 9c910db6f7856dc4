"""
Next-item and session-based recommendation
==========================================

:class:`~sk_recsys.models.SASRec` and :class:`~sk_recsys.models.GRU4Rec`
read each user's history in time order and predict what comes next. This
example builds interactions where order carries the signal (each item has
a few likely successors, as in browsing), evaluates next-item
recommendation with :class:`~sk_recsys.model_selection.LeaveLastOut`,
serves an anonymous session from its history without refitting, explains a
recommendation, and tunes SASRec with
:class:`~sklearn.model_selection.GridSearchCV`, choosing on a validation
split of the training rows, never on the test items.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV

from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import LeaveLastOut
from sk_recsys.models import EASE, GRU4Rec, Popularity, SASRec


def browsing(n_users=300, n_items=120, length=25, seed=0):
    """Users who mostly go from an item to one of its three successors."""
    rng = np.random.default_rng(seed)
    successors = rng.integers(n_items, size=(n_items, 3))
    items = np.empty((n_users, length), dtype=int)
    items[:, 0] = rng.integers(n_items, size=n_users)
    for t in range(1, length):
        follow = successors[items[:, t - 1], rng.integers(3, size=n_users)]
        jump = rng.integers(n_items, size=n_users)
        items[:, t] = np.where(rng.random(n_users) < 0.8, follow, jump)
    start = 1_700_000_000 + rng.integers(10**6, size=n_users)
    return pd.DataFrame(
        {
            "user": np.repeat(np.arange(n_users), length),
            "item": items.ravel(),
            "timestamp": (start[:, None] + 60 * np.arange(length)).ravel(),
        }
    ).sample(frac=1.0, random_state=seed)  # rows in no particular order


X = browsing()
train, test = next(LeaveLastOut(n=1, time_column="timestamp").split(X))
X_train, X_test = X.iloc[train], X.iloc[test]
print(f"{len(X_train)} training rows, {len(X_test)} held-out next items")

# %%
# Next-item evaluation
# --------------------
# Each user's latest row is the test item. The scorers rank the whole
# catalog after the user's training sequence, training items hidden (pass
# ``exclude_seen=False`` to :func:`~sk_recsys.metrics.make_ranking_scorer`
# where users consume items again). Bag-of-items models see the same
# rows without their order.
settings = {"n_factors": 32, "max_len": 20, "max_epochs": 40, "random_state": 0}
models = {
    "Popularity": Popularity(),
    "EASE": EASE(l2=50.0),
    "GRU4Rec": GRU4Rec(**settings, lr=0.005),
    "SASRec": SASRec(**settings, lr=0.005),
}
scores = {}
for name, model in models.items():
    model.fit(X_train)
    scores[name] = {
        metric: get_scorer(metric)(model, X_test)
        for metric in ("ndcg@10", "hit_rate@10")
    }
table = pd.DataFrame(scores).T
print(table.round(3))
table.plot.barh(title="Next item, full catalog (higher is better)")
plt.tight_layout()

# %%
# An anonymous session
# --------------------
# A visitor the model has never seen browsed three items, in this order. An
# id unknown to the model (here -1, as user ids are ints) with an ordered
# ``history`` is served from that history: session-based recommendation
# with no refit. The same items in another order give other
# recommendations.
sasrec = models["SASRec"]
session = [5, 17, 42]
for history in (session, session[::-1]):
    items, _ = sasrec.recommend([-1], k=5, history=[history])
    print(history, "->", items[0].tolist())

# %%
# Which positions of a user's sequence drive a recommendation: gradient x
# input over the item embeddings, positions counted back from the latest.
user = X_test["user"].iloc[0]
top, _ = sasrec.recommend([user], k=1)
print(sasrec.explain(user, top[0, 0], n=5))

# %%
# Tuning with GridSearchCV
# ------------------------
# ``LeaveLastOut`` on the *training* rows holds out each user's
# second-to-last item for validation; the search refits the best setting on
# all training rows, which is then scored once on the test items.
search = GridSearchCV(
    SASRec(**settings, lr=0.005),
    {"loss": ["softmax", "bce"], "dropout": [0.0, 0.3]},
    cv=LeaveLastOut(n=1, time_column="timestamp"),
    scoring=get_scorer("ndcg@10"),
)
search.fit(X_train)
print(pd.DataFrame(search.cv_results_)[["params", "mean_test_score"]])
print("best:", search.best_params_, "test NDCG@10:", search.score(X_test))
