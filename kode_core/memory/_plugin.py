"""Registers the built-in ``memory`` kind. Each family registers its own memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult

from ..hookspecs import hookimpl
from ._backend import MemoryBackend, MemoryOptions

if TYPE_CHECKING:
    from .._registry import Registry


def _url_options(parts: SplitResult) -> dict[str, Any]:
    if parts.netloc or parts.path.strip("/") or parts.query:
        raise ValueError("a memory URL is just memory:// (with an optional #namespace)")
    return {}


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the built-in ``memory`` kind."""
    registry.add_backend(
        "memory",
        options=MemoryOptions,
        factory=MemoryBackend,
        url_schemes=("memory",),
        url_options=_url_options,
    )
