"""Registers the secrets family and its memory store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ._family import SECRETS
from ._memory import MemorySecretStore

if TYPE_CHECKING:
    from .._registry import Registry


@hookimpl
def kode_register_families(registry: Registry) -> None:
    """Register the ``secrets`` family."""
    registry.add_family(SECRETS)


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the memory kind's secret store."""
    registry.add_store("memory", SECRETS, MemorySecretStore)
