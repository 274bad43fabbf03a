"""Options of the ``redis`` backend."""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from kode_core.backend import (
    BackendOptions,
    address_of,
    check,
    is_positive_int,
    is_positive_number,
    server_only,
)

_TCP_SCHEMES = ("redis", "rediss")


def is_redis_url(value: object) -> bool:
    """``redis://`` or ``rediss://`` with a host, or ``unix://`` with a socket path."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    if parts.scheme == "unix":
        return bool(parts.path)
    return parts.scheme in _TCP_SCHEMES and bool(parts.hostname)


def redis_address(url: str) -> str:
    """Where the backend connects, for error messages: ``host:port`` or the socket path."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return address_of(url) if parts.port else f"{parts.hostname}:6379"


def _is_optional_positive_number(value: object) -> bool:
    return value is None or is_positive_number(value)


@attrs.frozen(kw_only=True)
class RedisOptions(BackendOptions):
    """Options of the ``redis`` backend.

    ``namespace`` (wire-safe) selects the key prefix ``kode:<namespace>:``; every
    other field here is server-only. ``connect_timeout`` (inherited) bounds the
    time to reach the engine, retry included.
    """

    url: str = server_only(
        default="redis://localhost:6379/0",
        validator=check(is_redis_url, "must be a redis://, rediss:// or unix:// URL"),
        secret=True,
    )
    max_connections: int = server_only(
        default=50, validator=check(is_positive_int, "must be a positive int")
    )
    socket_timeout: float | None = server_only(
        default=30.0,
        validator=check(_is_optional_positive_number, "must be a positive number or None"),
    )
