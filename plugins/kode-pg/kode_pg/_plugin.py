"""The ``kode`` entry point of kode-pg: registers the ``pg`` backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core import hookimpl

from ._backend import PgBackend
from ._options import PgOptions

if TYPE_CHECKING:
    from kode_core import Registry


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the ``pg`` backend, which provides session stores and agent stores."""
    registry.add_backend(
        "pg", options=PgOptions, factory=PgBackend, services={"sessions", "agents"}
    )
