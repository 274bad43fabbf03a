"""The deployment family's own settings."""

from __future__ import annotations

import attrs

from .._options import FamilyOptions, check, is_positive_number, server_only


@attrs.frozen(kw_only=True)
class DeploymentOptions(FamilyOptions):
    """Settings of every deployment store, whatever the engine (server-only).

    An instance heartbeats every ``heartbeat_interval`` seconds (10 by default) and
    counts as live while its last heartbeat is under ``heartbeat_ttl`` seconds old
    (30 by default); keep the TTL a few intervals long.
    """

    heartbeat_interval: float = server_only(
        default=10.0, validator=check(is_positive_number, "must be a positive number of seconds")
    )
    heartbeat_ttl: float = server_only(
        default=30.0, validator=check(is_positive_number, "must be a positive number of seconds")
    )
