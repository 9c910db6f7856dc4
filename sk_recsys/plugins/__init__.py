"""Entry-point discovery of third-party models and the model registry.

A plugin package makes its models available to :func:`get_model`, the CLI
and the conformance kit by declaring, in its ``pyproject.toml``::

    [project.entry-points."sk_recsys.models"]
    my_model = "my_pkg.models:MyRecommender"
"""

from ._registry import GROUP, PluginWarning, available_models, get_model

__all__ = ["GROUP", "PluginWarning", "available_models", "get_model"]
