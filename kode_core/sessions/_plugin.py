"""Registers the session-store family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import SESSIONS
from ._memory import MemorySessionStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``sessions`` family."""
    registry.add_family(SESSIONS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's session store."""
    registry.add_store("memory", SESSIONS, MemorySessionStore)
