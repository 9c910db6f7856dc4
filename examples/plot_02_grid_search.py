"""
Grid search and cross-validation with ranking metrics
=====================================================

Recommenders are ordinary scikit-learn estimators, so
:class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_validate` work as they are. What changes
is the splitter and the scoring: :class:`~sk_recsys.model_selection.UserKFold`
deals each user's rows over the folds (every test user also has training
rows) and :func:`~sk_recsys.metrics.get_scorer` turns ``"precision@10"``,
``"recall@10"``, ``"f1@10"``, ``"ndcg@10"`` or ``"auc"`` into a scorer that
ranks the whole catalog.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, cross_validate

from sk_recsys.data import interaction_matrix, lookup_ids, matrix_rows
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer, precision_at_k, recall_at_k
from sk_recsys.model_selection import UserKFold, train_test_split
from sk_recsys.models import EASE, ItemKNN

X, _ = make_interactions(n_users=300, n_items=200, random_state=0, return_X_y=True)
cv = UserKFold(n_splits=3, random_state=0)
scoring = {
    name: get_scorer(name)
    for name in ["precision@10", "recall@10", "f1@10", "ndcg@10", "auc"]
}

# %%
# Tuning a hyperparameter
# -----------------------
# Every scorer of a multi-metric ``scoring`` dict reads the same ranking, so
# asking for five metrics costs one ranking per fold. ``refit`` picks the
# metric that chooses the model.
search = GridSearchCV(
    ItemKNN(),
    {"n_neighbors": [10, 50, 200], "shrinkage": [0.0, 10.0]},
    scoring=scoring,
    refit="ndcg@10",
    cv=cv,
)
search.fit(X)
table = pd.DataFrame(search.cv_results_)[
    ["param_n_neighbors", "param_shrinkage", "mean_test_ndcg@10", "mean_test_auc"]
]
print(table.sort_values("mean_test_ndcg@10", ascending=False).round(3))
print("best:", search.best_params_)

# %%
# Cross-validating two models
# ---------------------------
for estimator in [search.best_estimator_, EASE(l2=50.0)]:
    scores = cross_validate(estimator, X, cv=cv, scoring=scoring)
    means = {k[5:]: round(float(v.mean()), 3) for k, v in scores.items() if "test" in k}
    print(type(estimator).__name__, means)

# %%
# Precision and recall at every K
# -------------------------------
# The metric functions take a relevance matrix and a score matrix of shape
# ``(n_users, n_items)``; ``-inf`` marks items that may not be ranked (here:
# the users' training items). Recall grows with K while precision falls.
X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
model = EASE(l2=50.0).fit(X_train)
users = np.unique(X_test["user_id"])
rows = lookup_ids(pd.Index(users), X_test["user_id"].to_numpy())
columns = lookup_ids(pd.Index(model.items_), X_test["item_id"].to_numpy())
y_true = interaction_matrix(rows, columns, shape=(len(users), model.n_items_))
y_score = model.score_items(users)
seen = matrix_rows(model.interactions_, lookup_ids(pd.Index(model.users_), users))
y_score[seen.toarray() > 0] = -np.inf

ks = np.arange(1, 31)
precision = [precision_at_k(y_true, y_score, k=k) for k in ks]
recall = [recall_at_k(y_true, y_score, k=k) for k in ks]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(ks, precision, label="precision@K")
ax.plot(ks, recall, label="recall@K")
ax.set_xlabel("K")
ax.legend()
fig.tight_layout()
