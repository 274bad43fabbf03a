"""The ``kode`` entry point of kode-sqlite: registers the ``sqlite`` kind."""

from __future__ import annotations

from kode_core import Registry, hookimpl

from ._backend import SqliteBackend
from ._options import SqliteOptions


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the ``sqlite`` backend, which provides session stores and agent stores."""
    registry.add_backend(
        "sqlite", options=SqliteOptions, factory=SqliteBackend, services={"sessions", "agents"}
    )
