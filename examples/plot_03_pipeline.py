"""
A recommender in a Pipeline
===========================

A recommender can be the last step of a scikit-learn
:class:`~sklearn.pipeline.Pipeline`. The steps before it see the raw rows and
must hand the recommender rows whose first two columns are the user and item
ids. Here the raw log keeps its item ids in its last column, some written in
upper case; a :class:`~sklearn.compose.ColumnTransformer` picks and orders the
id columns and a :class:`~sklearn.preprocessing.FunctionTransformer`
normalises the ids. The ranking scorers send the held-out rows through the
same steps, so grid search and cross-validation work on the whole pipeline.
"""

# %%
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import UserKFold, train_test_split
from sk_recsys.models import ItemKNN

X, _ = make_interactions(
    n_users=300, n_items=200, string_ids=True, random_state=0, return_X_y=True
)
rng = np.random.default_rng(0)
# A raw event log: users first (the splitters read column 0), the items last,
# some item ids in upper case.
log = pd.DataFrame(
    {
        "user": X["user_id"].to_numpy(),
        "device": rng.choice(["web", "ios", "android"], len(X)),
        "timestamp": X["timestamp"].to_numpy(),
        "item": [i.upper() if rng.random() < 0.3 else i for i in X["item_id"]],
    }
)
print(log.head())


def lowercase_ids(frame):
    """Normalise the two id columns (user, item) to lower case."""
    return frame.apply(lambda column: column.str.lower())


pipe = Pipeline(
    [
        (
            "columns",
            ColumnTransformer([("ids", "passthrough", ["user", "item"])]).set_output(
                transform="pandas"
            ),
        ),
        ("ids", FunctionTransformer(lowercase_ids)),
        ("model", ItemKNN()),
    ]
)

# %%
# Fit, recommend and score
# ------------------------
# ``recommend`` and ``score_items`` belong to the recommender, the last step;
# ``pipe.predict`` and the scorers transform the rows first.
log_train, log_test = train_test_split(log, random_state=0)
pipe.fit(log_train)
print("NDCG@10:", round(get_scorer("ndcg@10")(pipe, log_test), 3))
print("scores of the first test rows:", pipe.predict(log_test.head()).round(2))
item_ids, _ = pipe[-1].recommend(["u0001"], k=5)
print("top 5 for u0001:", item_ids[0].tolist())

# %%
# Grid search over the pipeline
# -----------------------------
# Parameters of the recommender are reached with the step name, as for any
# pipeline.
search = GridSearchCV(
    pipe,
    {"model__n_neighbors": [20, 100], "model__shrinkage": [0.0, 10.0]},
    scoring={"recall@10": get_scorer("recall@10"), "auc": get_scorer("auc")},
    refit="recall@10",
    cv=UserKFold(3, random_state=0),
)
search.fit(log)
results = pd.DataFrame(search.cv_results_)
print(results.filter(regex="param_|mean_test").round(3).to_string(index=False))
