"""Options of the ``redis`` backend."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

from kode_core.backend import (
    BackendOptions,
    OptionValueError,
    address_of,
    check,
    is_positive_int,
    is_positive_number,
    server_only,
)

_TCP_SCHEMES = ("redis", "rediss")
#: Query parameters of a kode-redis URL that kode reads and redis-py never sees:
#: ``cluster=true`` selects Redis Cluster, each ``node=host:port`` adds a seed node.
CLUSTER = "cluster"
NODE = "node"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_DEFAULT_PORT = 6379


@attrs.frozen
class ClusterUrl:
    """What kode reads from a Redis URL: the URL redis-py gets, and the cluster settings."""

    url: str  # without kode's parameters
    cluster: bool
    seeds: tuple[tuple[str, int], ...]  # the URL's host first, then each ``node=``


def split_url(url: str) -> ClusterUrl:
    """``url`` without kode's own query parameters, and what they say.

    Raises :exc:`ValueError` naming a parameter whose value is not understood, or a
    cluster URL that cannot name one (a ``unix://`` socket, a database other than 0).
    """
    parts = urlsplit(url)
    kept: list[str] = []
    flag: bool | None = None
    seeds: list[tuple[str, int]] = []
    for pair in parts.query.split("&") if parts.query else ():
        name, _, value = pair.partition("=")
        if unquote(name) == CLUSTER:
            text = unquote(value).strip().lower()
            if text not in (*_TRUE, *_FALSE):
                raise ValueError(f"URL parameter {CLUSTER} must be true or false, got {value!r}")
            flag = text in _TRUE
        elif unquote(name) == NODE:
            seeds.append(_seed(unquote(value)))
        else:
            kept.append(pair)
    cluster = bool(flag)
    if seeds and not cluster:
        raise ValueError(f"URL parameter {NODE} needs {CLUSTER}=true")
    if cluster:
        if parts.scheme == "unix":
            raise ValueError("a Redis Cluster is reached over TCP, not a unix:// socket")
        if parts.path.strip("/") not in ("", "0"):
            raise ValueError("a Redis Cluster has database 0 only: end the URL with /0")
        seeds.insert(0, (parts.hostname or "", parts.port or _DEFAULT_PORT))
    stripped = parts._replace(query="&".join(kept)).geturl() if flag is not None else url
    return ClusterUrl(stripped, cluster, tuple(seeds))


def _seed(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"URL parameter {NODE} must be host:port, got {text!r}")
    return host.strip("[]"), int(port)


def is_redis_url(value: object) -> bool:
    """``redis://`` or ``rediss://`` with a host, or ``unix://`` with a socket path."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    if parts.scheme == "unix":
        return bool(parts.path)
    return parts.scheme in _TCP_SCHEMES and bool(parts.hostname)


def _check_url(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not is_redis_url(value):
        # Not the URL itself: it may hold a password.
        raise OptionValueError(attribute.name, "must be a redis://, rediss:// or unix:// URL")
    assert isinstance(value, str)
    try:
        split_url(value)
    except ValueError as exc:
        raise OptionValueError(attribute.name, str(exc)) from None


def _check_cluster(inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise OptionValueError(attribute.name, f"must be a bool, got {value!r}")
    url = getattr(inst, "url", None)
    if value and isinstance(url, str) and is_redis_url(url):
        try:
            _with_cluster_flag(url)
        except ValueError as exc:
            raise OptionValueError(attribute.name, str(exc)) from None


def _with_cluster_flag(url: str) -> ClusterUrl:
    found = split_url(url)
    if found.cluster:
        return found
    return split_url(f"{url}{'&' if urlsplit(url).query else '?'}{CLUSTER}=true")


def redis_address(found: ClusterUrl) -> str:
    """Where the backend connects, for error messages: ``host:port`` or the socket path.

    For a cluster, ``cluster <seed>,<seed>...``.
    """
    url = found.url
    if found.cluster:
        return "cluster " + ",".join(f"{host}:{port}" for host, port in found.seeds)
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return address_of(url) if parts.port else f"{parts.hostname}:{_DEFAULT_PORT}"


def _is_optional_positive_number(value: object) -> bool:
    return value is None or is_positive_number(value)


@attrs.frozen(kw_only=True)
class RedisOptions(BackendOptions):
    """Options of the ``redis`` backend.

    ``namespace`` (wire-safe) selects the key prefix ``kode:<namespace>:``; every
    other field here is server-only. ``connect_timeout`` (inherited) bounds the
    time to reach the engine, retry included. ``cluster`` (or ``?cluster=true`` in
    the URL, whose host is then the first seed node, more seeds coming as
    ``&node=host:port``) speaks Redis Cluster; ``max_connections`` is then per node.
    """

    url: str = server_only(default="redis://localhost:6379/0", validator=_check_url, secret=True)
    cluster: bool = server_only(default=False, validator=_check_cluster)
    max_connections: int = server_only(
        default=50, validator=check(is_positive_int, "must be a positive int")
    )
    socket_timeout: float | None = server_only(
        default=30.0,
        validator=check(_is_optional_positive_number, "must be a positive number or None"),
    )

    @property
    def target(self) -> ClusterUrl:
        """The URL redis-py gets and the cluster settings, the ``cluster`` option included."""
        return _with_cluster_flag(self.url) if self.cluster else split_url(self.url)
