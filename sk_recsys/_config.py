"""Global settings of sk_recsys, in the manner of :func:`sklearn.set_config`.

One setting for now, ``working_memory``: how many MiB the ranking work of
``recommend``, ``score_items``, ``predict`` and :func:`recommend_to_parquet`
may hold in temporaries at once. Users are scored a chunk at a time, so peak
memory is O(chunk x n_items) whatever the number of users.
"""

from __future__ import annotations

import contextlib
import numbers
import threading

__all__ = ["config_context", "get_config", "set_config"]

_DEFAULTS = {"working_memory": None}
_global_config = dict(_DEFAULTS)
_local = threading.local()

# Working memory used when ``working_memory`` is None: 64 MiB on the CPU (a
# chunk stays in cache-friendly sizes), 2 GiB on an accelerator (large blocks
# keep it busy).
AUTO_WORKING_MEMORY = {"cpu": 64, "accelerator": 2048}
# Bytes of temporaries per (user, item) cell of a chunk: the model's float32
# scores, the output they are copied into, a candidate-column copy and the
# top-k input.
BYTES_PER_CELL = 16


def _thread_config() -> dict:
    if not hasattr(_local, "config"):
        _local.config = dict(_global_config)
    return _local.config


def get_config() -> dict:
    """Current values of the settings changed by :func:`set_config`.

    Returns
    -------
    config : dict
        ``{"working_memory": ...}``; a copy, editing it changes nothing.

    Examples
    --------
    >>> import sk_recsys
    >>> sk_recsys.get_config()
    {'working_memory': None}
    """
    return dict(_thread_config())


def _check_working_memory(value):
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not value > 0
        or value != value
    ):
        raise ValueError(
            f"working_memory={value!r} is not a positive number of MiB; pass e.g. "
            "working_memory=256, or None for the automatic size."
        )
    return value


def set_config(working_memory=None) -> None:
    """Set global sk_recsys settings (for the current thread and new ones).

    Parameters
    ----------
    working_memory : float or None, default=None
        MiB of temporaries the ranking work may hold at once: users are
        scored ``working_memory * 2**20 / (16 * n_items)`` at a time (at
        least one). ``None`` picks 64 MiB on the CPU and 2048 MiB on a GPU.
        It bounds the work of ``recommend``, ``predict`` and
        :func:`~sk_recsys.recommend_to_parquet`; ``score_items`` still
        returns its whole (n_users, n_items) result.

    Examples
    --------
    >>> import sk_recsys
    >>> sk_recsys.set_config(working_memory=256)
    >>> sk_recsys.get_config()["working_memory"]
    256
    >>> sk_recsys.set_config(working_memory=None)
    """
    value = _check_working_memory(working_memory)
    _global_config["working_memory"] = value
    _thread_config()["working_memory"] = value


@contextlib.contextmanager
def config_context(*, working_memory=None):
    """Change settings inside a ``with`` block only (this thread).

    Parameters
    ----------
    working_memory : float or None, default=None
        See :func:`set_config`.

    Examples
    --------
    >>> import sk_recsys
    >>> with sk_recsys.config_context(working_memory=8):
    ...     sk_recsys.get_config()["working_memory"]
    8
    >>> sk_recsys.get_config()["working_memory"] is None
    True
    """
    config = _thread_config()
    previous = dict(config)
    config["working_memory"] = _check_working_memory(working_memory)
    try:
        yield
    finally:
        config.clear()
        config.update(previous)


def chunk_rows(n_columns: int, device="cpu") -> int:
    """Rows of an (n_rows, n_columns) score block that fit the working memory."""
    mib = _thread_config()["working_memory"]
    if mib is None:
        on_cpu = str(device).split(":")[0] == "cpu"
        mib = AUTO_WORKING_MEMORY["cpu" if on_cpu else "accelerator"]
    return max(1, int(mib * 2**20) // (BYTES_PER_CELL * max(n_columns, 1)))
