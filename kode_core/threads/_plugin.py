"""Registers the thread-store family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import THREADS
from ._memory import MemoryThreadStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``threads`` family."""
    registry.add_family(THREADS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's thread store."""
    registry.add_store("memory", THREADS, MemoryThreadStore)
