"""Registers the run-store family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import RUNS
from ._memory import MemoryRunStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``runs`` family."""
    registry.add_family(RUNS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's run store."""
    registry.add_store("memory", RUNS, MemoryRunStore)
