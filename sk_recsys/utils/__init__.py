"""Small shared helpers and the conformance kit for recommenders."""

from ._device import resolve_device

__all__ = ["resolve_device"]
