"""The ``kode`` entry point of kode-redis: registers the ``redis`` kind."""

from __future__ import annotations

import kode_core

from ._backend import RedisBackend
from ._options import RedisOptions


@kode_core.hookimpl
def kode_register_backends(registry: kode_core.Registry) -> None:
    """Register the ``redis`` backend, which provides session and agent stores."""
    registry.add_backend(
        "redis", options=RedisOptions, factory=RedisBackend, services={"sessions", "agents"}
    )
