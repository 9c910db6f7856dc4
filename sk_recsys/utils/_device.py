"""Resolution of the ``device`` parameter shared by torch-backed models."""

from __future__ import annotations

import warnings

import torch

__all__ = ["resolve_device"]


def resolve_device(device, *, fallback: bool = False) -> torch.device:
    """Return ``device`` as a :class:`torch.device`, checking it is usable.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``...
    fallback : bool, default=False
        When the device is unavailable, warn and return the CPU instead of
        raising (used when loading a model saved on a GPU machine).

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        If ``device`` is not a device name, or names an unavailable
        accelerator and ``fallback`` is False.

    Examples
    --------
    >>> from sk_recsys.utils import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda' or 'cuda:N'."
        ) from None
    available = True
    if resolved.type == "cuda":
        available = torch.cuda.is_available() and (
            resolved.index is None or resolved.index < torch.cuda.device_count()
        )
    elif resolved.type == "mps":
        available = torch.backends.mps.is_available()
    if available:
        return resolved
    if fallback:
        warnings.warn(
            f"device={device!r} is not available here; using the CPU instead.",
            UserWarning,
            stacklevel=3,
        )
        return torch.device("cpu")
    raise ValueError(
        f"device={device!r} is not available on this machine; use device='cpu'."
    )


def asynchronous(device) -> bool:
    """Whether work on ``device`` runs asynchronously to the host.

    True for accelerators (CUDA, MPS...), whose kernels the host queues
    without waiting: there, code avoids reading a result back (``.item()``,
    a data-dependent shape) inside the training loop, since each read makes
    the host wait for the device. False for the CPU, where reading a result
    costs nothing extra. The one place that choice is made, so that
    ``benchmarks/step_ops.py`` can run the accelerator code paths on a CPU.

    Examples
    --------
    >>> from sk_recsys.utils._device import asynchronous
    >>> asynchronous("cpu")
    False
    """
    return torch.device(device).type != "cpu"
