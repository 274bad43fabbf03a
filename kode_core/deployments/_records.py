"""The deployment record: one running instance of a service and what it serves."""

from __future__ import annotations

import attrs


@attrs.frozen
class Deployment:
    """An instance as last stored: where to reach it, its functions, its last heartbeat.

    ``heartbeat_ms`` is the epoch milliseconds of its last start or heartbeat; an
    instance is live while that is within the store's ``heartbeat_ttl``.
    """

    deployment_id: str
    endpoint: str
    functions: tuple[str, ...]
    heartbeat_ms: int
