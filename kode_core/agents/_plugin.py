"""Registers the agent-store family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import AGENTS
from ._memory import MemoryAgentStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``agents`` family."""
    registry.add_family(AGENTS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's agent store."""
    registry.add_store("memory", AGENTS, MemoryAgentStore)
