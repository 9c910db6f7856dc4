"""sk_recsys: scikit-learn compatible recommender systems.

Every model is a scikit-learn estimator over interaction rows ``X`` (user id,
item id, context...) with an optional ``y`` (rating or weight): ``fit``,
``predict``, ``score_items``, ``recommend`` and ``score`` (NDCG@10), so it
drops into ``Pipeline``, ``GridSearchCV`` and ``cross_validate`` with the
full-catalog ranking scorers of :mod:`sk_recsys.metrics`.
"""

__version__ = "0.1.0.dev0"

from .base import RecommenderMixin
from .models import EASE, ItemKNN, Popularity, UserKNN
from .plugins import available_models, get_model

__all__ = [
    "EASE",
    "ItemKNN",
    "Popularity",
    "RecommenderMixin",
    "UserKNN",
    "__version__",
    "available_models",
    "get_model",
]
