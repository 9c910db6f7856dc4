"""Point a warning at the user's line, however deep in sk_recsys it is raised."""

from __future__ import annotations

import sys


def outside_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the caller of this function
    that names the first frame outside sk_recsys (the user's call, whichever
    path — ``model.score``, a scorer, ``GridSearchCV`` — led to it)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and (
        frame.f_globals.get("__name__", "").split(".", 1)[0] == "sk_recsys"
    ):
        frame = frame.f_back
        level += 1
    return level
