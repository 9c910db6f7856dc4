"""sk_recsys: scikit-learn compatible recommender systems.

Every model is a scikit-learn estimator over interaction rows ``X`` (user id,
item id, context...) with an optional ``y`` (rating or weight): ``fit``,
``predict``, ``score_items``, ``recommend`` and ``score`` (NDCG@10), so it
drops into ``Pipeline``, ``GridSearchCV`` and ``cross_validate`` with the
full-catalog ranking scorers of :mod:`sk_recsys.metrics`.
"""

__version__ = "0.1.0.dev0"

from ._config import config_context, get_config, set_config
from ._io import recommend_to_parquet
from ._persistence import load, save
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
    "config_context",
    "get_config",
    "get_model",
    "load",
    "recommend_to_parquet",
    "save",
    "set_config",
]
