"""
Writing a model, testing it, shipping it as a plugin
====================================================

A recommender is a class that subclasses
:class:`~sk_recsys.base.RecommenderMixin` and
:class:`~sklearn.base.BaseEstimator` (in that order), stores its parameters
in ``__init__`` and implements ``fit`` and ``_score_users``. The mixin
supplies ``predict``, ``score_items``, ``recommend`` (top-k in chunks,
exclusion of seen items, candidates, padding, unknown users) and ``score``.
:func:`~sk_recsys.utils.estimator_checks.check_recommender` then checks the
whole contract, and an entry point makes the model available to
:func:`~sk_recsys.plugins.get_model` and the ``sk-recsys`` command.
"""

# %%
# A co-occurrence recommender
# ---------------------------
# Score an item by how often it was picked by the same users as the user's
# own items, damped by its popularity. ``_score_history`` lets new users be
# folded in from ``history=``: the score is linear in the user's row.
import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from sk_recsys.base import RecommenderMixin
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import train_test_split
from sk_recsys.plugins import available_models
from sk_recsys.utils.estimator_checks import check_recommender


class CoOccurrence(RecommenderMixin, BaseEstimator):
    """Recommend items picked by the users who picked the user's items.

    Parameters
    ----------
    alpha : float, default=0.5
        Exponent of the popularity damping: a co-occurrence count with item
        ``i`` is divided by ``popularity_i ** alpha``.
    """

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")]}

    def __init__(self, alpha=0.5):
        self.alpha = alpha

    def fit(self, X, y=None, **fit_params):
        self._validate_params()
        self._fit_interactions(X, y, **fit_params)  # validates, sets users_, ...
        R = (self.interactions_ > 0).astype(np.float32)
        counts = (R.T @ R).toarray()
        np.fill_diagonal(counts, 0)
        damping = np.maximum(np.asarray(R.sum(axis=0)).ravel(), 1) ** self.alpha
        self.item_item_ = counts / damping
        return self

    def _score_users(self, users):
        return self._score_history(self.interactions_[users])

    def _score_history(self, rows):
        return np.asarray((rows > 0).astype(np.float32) @ self.item_item_)


X, _ = make_interactions(n_users=300, n_items=200, random_state=0, return_X_y=True)
X_train, X_test = train_test_split(X, random_state=0)
model = CoOccurrence().fit(X_train)
print("NDCG@10:", round(get_scorer("ndcg@10")(model, X_test), 3))
new_user = 10_000  # not in the training data
print("for a new user:", model.recommend([new_user], k=5, history=[[0, 1, 2]])[0])

# %%
# Testing it
# ----------
# ``check_recommender`` runs the estimator through the contract on small
# synthetic data (the sklearn API, fitted attributes, every method's shapes
# and semantics, unknown users, padding, bad input, string ids,
# reproducibility, pickling, ``GridSearchCV``, a ``Pipeline``, cold items and
# scikit-learn's own estimator checks) and raises an ``AssertionError`` naming
# the rule that broke. In a plugin's test suite it is one line::
#
#     def test_conforms():
#         check_recommender(CoOccurrence())
check_recommender(CoOccurrence())
print("CoOccurrence passes check_recommender")


# %%
# A broken model fails with a message naming the check and the rule it
# broke. This one forgets that ``_score_users`` scores every *catalog* item:
class Broken(CoOccurrence):
    def _score_users(self, users):
        return super()._score_users(users)[:, :-1]


try:
    check_recommender(Broken())
except AssertionError as error:
    print(str(error)[:300])

# %%
# Shipping it
# -----------
# In the plugin package's ``pyproject.toml``:
#
# .. code-block:: toml
#
#     [project.entry-points."sk_recsys.models"]
#     co_occurrence = "my_package.models:CoOccurrence"
#
# Once the package is installed, :func:`~sk_recsys.plugins.available_models`
# lists it (without importing it), ``get_model("co_occurrence", alpha=1)``
# builds one and ``sk-recsys evaluate`` includes it. A plugin that fails to
# import is skipped with a warning. ``examples/plugin_package`` in the
# repository is a complete, installable plugin with its own tests. The models
# registered in this environment:
for name, target in available_models().items():
    print(f"{name:12s} {target}")
