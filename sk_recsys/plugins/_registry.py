"""The model registry: built-ins plus models declared by installed plugins.

A plugin package declares its models in the ``sk_recsys.models`` entry-point
group (``name = "module:Class"``). Discovery reads only the entry-point
metadata, once, and is cached; a model's module is imported when it is first
asked for by :func:`get_model`, so a broken plugin never breaks
``import sk_recsys``.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from importlib.metadata import entry_points

__all__ = ["GROUP", "PluginWarning", "available_models", "get_model"]

#: Entry-point group that plugin packages declare their models under.
GROUP = "sk_recsys.models"

_BUILTINS = {
    "popularity": "sk_recsys.models.popularity:Popularity",
    "item_knn": "sk_recsys.models.knn:ItemKNN",
    "user_knn": "sk_recsys.models.knn:UserKNN",
    "ease": "sk_recsys.models.ease:EASE",
    "mf": "sk_recsys.models.mf:MatrixFactorization",
    "bpmf": "sk_recsys.models.bpmf:BayesianMF",
    "dmf": "sk_recsys.models.dmf:DeepMF",
    "neumf": "sk_recsys.models.neumf:NeuMF",
    "content": "sk_recsys.models.content:ContentRecommender",
    "hybrid": "sk_recsys.models.hybrid:HybridRecommender",
    "multitask": "sk_recsys.models.multitask:MultiTaskRecommender",
    "sasrec": "sk_recsys.models.sasrec:SASRec",
    "gru4rec": "sk_recsys.models.gru4rec:GRU4Rec",
    "hstu": "sk_recsys.models.hstu:HSTU",
    "multvae": "sk_recsys.models.multvae:MultVAE",
    "lightgcn": "sk_recsys.models.lightgcn:LightGCN",
    "ials": "sk_recsys.models.ials:ImplicitALS",
    "rp3beta": "sk_recsys.models.rp3beta:RP3Beta",
    "slim": "sk_recsys.models.slim:SLIM",
}

# Plugins whose import failed in this process; they are left out from then on.
_broken: set[str] = set()


class PluginWarning(UserWarning):
    """A plugin model was skipped: it failed to import or clashed with a name."""


def _distribution(entry_point) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.name if dist is not None else "an unknown distribution"


@functools.cache
def _registry() -> dict[str, str]:
    registry = dict(_BUILTINS)
    try:
        found = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    except Exception as exc:  # a corrupt installed metadata file
        warnings.warn(
            f"Reading the {GROUP!r} entry points failed ({exc}); only built-in "
            "models are available.",
            PluginWarning,
            stacklevel=3,
        )
        return registry
    for ep in found:
        origin = _distribution(ep)
        if ep.name in registry:
            kept = "the built-in" if ep.name in _BUILTINS else registry[ep.name]
            warnings.warn(
                f"Plugin {origin!r} registers model {ep.name!r} ({ep.value}), a name "
                f"already taken; keeping {kept}.",
                PluginWarning,
                stacklevel=3,
            )
            continue
        module, _, attr = ep.value.partition(":")
        if not module or not attr:
            warnings.warn(
                f"Plugin {origin!r} registers model {ep.name!r} as {ep.value!r}, "
                "which is not 'module:Class'; skipping it.",
                PluginWarning,
                stacklevel=3,
            )
            continue
        registry[ep.name] = ep.value
    return registry


def available_models() -> dict[str, str]:
    """Names of every registered model, built-in and plugin, without importing them.

    Returns
    -------
    models : dict of str to str
        ``name -> "module:Class"``; built-ins first, then plugins by name.
        Plugins that failed to import in this process are left out.

    Examples
    --------
    >>> from sk_recsys.plugins import available_models
    >>> available_models()["item_knn"]
    'sk_recsys.models.knn:ItemKNN'
    """
    return {name: value for name, value in _registry().items() if name not in _broken}


def _load(name: str) -> type:
    models = available_models()
    if name not in models:
        raise ValueError(
            f"Unknown model {name!r}; choose one of {', '.join(models)} (see "
            "sk_recsys.plugins.available_models())."
        )
    module, _, attr = models[name].partition(":")
    try:
        target = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as exc:
        _broken.add(name)
        warnings.warn(
            f"Plugin model {name!r} ({models[name]}) failed to import and is "
            f"skipped: {type(exc).__name__}: {exc}",
            PluginWarning,
            stacklevel=3,
        )
        raise ValueError(
            f"Model {name!r} is unavailable: its plugin failed to import ({exc})."
        ) from exc
    if not isinstance(target, type) or not all(
        callable(getattr(target, method, None)) for method in ("fit", "recommend")
    ):
        _broken.add(name)
        warnings.warn(
            f"Plugin model {name!r} ({models[name]}) is not a recommender class "
            "(it needs fit and recommend) and is skipped.",
            PluginWarning,
            stacklevel=3,
        )
        raise ValueError(
            f"Model {name!r} is unavailable: it is not a recommender class."
        )
    return target


def get_model(name, **params):
    """Build a new, unfitted estimator of the registered model ``name``.

    Parameters
    ----------
    name : str
        A key of :func:`available_models`.
    **params
        Passed to the class constructor.

    Returns
    -------
    estimator : recommender
        A new instance.

    Raises
    ------
    ValueError
        If no model has that name, or its plugin failed to import (a
        :class:`PluginWarning` names it, and it is dropped from the registry).

    Examples
    --------
    >>> from sk_recsys.plugins import get_model
    >>> get_model("item_knn", n_neighbors=20)
    ItemKNN(n_neighbors=20)
    """
    return _load(name)(**params)
