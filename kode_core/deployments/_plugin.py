"""Registers the deployment family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import DEPLOYMENTS
from ._memory import MemoryDeploymentStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``deployments`` family."""
    registry.add_family(DEPLOYMENTS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's deployment store."""
    registry.add_store("memory", DEPLOYMENTS, MemoryDeploymentStore)
