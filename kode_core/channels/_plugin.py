"""Registers the channel-store family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import CHANNELS
from ._memory import MemoryChannelStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``channels`` family."""
    registry.add_family(CHANNELS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's channel store."""
    registry.add_store("memory", CHANNELS, MemoryChannelStore)
