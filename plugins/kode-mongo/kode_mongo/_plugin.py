"""The ``kode`` entry point of kode-mongo: registers the ``mongo`` backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core import hookimpl

from ._backend import MongoBackend
from ._options import MongoOptions

if TYPE_CHECKING:
    from kode_core import Registry


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the ``mongo`` backend, which provides session stores and agent stores."""
    registry.add_backend(
        "mongo", options=MongoOptions, factory=MongoBackend, services={"sessions", "agents"}
    )
