"""Registers the workflow-store family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import WORKFLOWS
from ._memory import MemoryWorkflowStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``workflows`` family."""
    registry.add_family(WORKFLOWS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's workflow store."""
    registry.add_store("memory", WORKFLOWS, MemoryWorkflowStore)
