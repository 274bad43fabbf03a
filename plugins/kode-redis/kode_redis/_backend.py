"""The ``redis`` backend: one ``redis.asyncio`` client and pool per server configuration."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

import hiredis
import redis
import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import AsyncScript

from kode_core import BackendError, BackendUnavailableError, KodeError, NotSupportedError
from kode_core.backend import (
    Backend,
    ErrorMap,
    OncePerKey,
    map_exceptions,
    redact,
    url_secrets,
)

from ._options import RedisOptions, redis_address
from ._schema import RedisSchema, ensure_schema, meta_key, stored_version, version_field

_T = TypeVar("_T")

#: One retry after a short pause: enough to replace a pooled connection the server
#: closed (restart, idle timeout), never an unbounded wait on an engine that is down.
_RETRIES = 1
#: What ``ConnectionPool.get_connection`` takes: a command name before redis-py 5.3.
_GET_CONNECTION_ARGS: tuple[str, ...] = (
    ("EVALSHA",) if tuple(map(int, redis.__version__.split(".")[:2])) < (5, 3) else ()
)
#: Connection name shown by ``CLIENT LIST``, so operators can tell kode's connections.
CLIENT_NAME = "kode"


class RedisBackend(Backend):
    """A Redis server reached through one ``redis.asyncio`` client and connection pool.

    Construction does no I/O and even the pool connects lazily, on the first
    command. The stores of every family share the client; each family's layout
    version in a namespace is checked once, on first use.
    """

    kind = "redis"

    def __init__(self, options: RedisOptions) -> None:
        self._options = options
        self._target = options.target
        self._address = redis_address(self._target)
        # A driver message may quote the password, as written in the URL or decoded.
        self._secrets = url_secrets(options.url)
        self._client: Redis | None = None
        self._closed = False
        self._schemas: OncePerKey[tuple[str, str]] = OncePerKey()
        self._scripts: dict[Callable[[Redis], Any], Any] = {}
        self._errors: ErrorMap = {
            redis.exceptions.ConnectionError: self._unavailable,
            redis.exceptions.TimeoutError: self._unavailable,
            redis.exceptions.ClusterDownError: self._unavailable,
            redis.exceptions.MasterDownError: self._unavailable,
            OSError: self._unavailable,
            redis.exceptions.RedisError: self._driver_error,
        }

    def __repr__(self) -> str:
        return f"<RedisBackend {self._address}>"

    @property
    def address(self) -> str:
        """``host:port`` of the server (or its socket path), without credentials."""
        return self._address

    @property
    def is_cluster(self) -> bool:
        """Whether this backend speaks Redis Cluster (the ``cluster`` option or URL flag)."""
        return self._target.cluster

    def raw_client(self) -> Redis:
        """A new client of its own that returns bytes (``DUMP`` payloads), for test hooks;
        a ``RedisCluster`` on a cluster. The caller closes it."""
        if not self._target.cluster:
            return Redis.from_url(self._target.url, decode_responses=False)
        nodes = [ClusterNode(host, port) for host, port in self._target.seeds]
        client = RedisCluster(startup_nodes=nodes, decode_responses=False, **self._url_kwargs())
        return cast("Redis", client)

    def refuse_on_cluster(self, family: str) -> None:
        """Raise :class:`~kode_core.NotSupportedError` if this backend is a Redis Cluster.

        For a family whose scripts still span hash slots: it is refused when its store is
        built, never left to fail later with ``CROSSSLOT`` or ``MOVED``.
        """
        if self.is_cluster:
            raise NotSupportedError(
                f"redis: the {family} family does not support Redis Cluster yet "
                f"({self._address}); use a single Redis server for it"
            )

    @property
    def driver_version(self) -> str:
        return f"redis-py {redis.__version__}"

    async def aclose(self) -> None:
        """Close the pool's connections. Idempotent."""
        self._closed = True
        client, self._client = self._client, None
        self._scripts.clear()
        if client is not None:
            await client.aclose()

    # -- what the stores use --------------------------------------------------------------

    async def client(
        self, namespace: str, component: RedisSchema, *, auto_migrate: bool | None = None
    ) -> Redis:
        """The shared client, once ``component``'s layout version in ``namespace`` is checked.

        With ``auto_migrate`` (default: the option of that name) a fresh or older
        layout is recorded or migrated; otherwise it raises
        :class:`~kode_core.SchemaVersionError`.
        """
        client = self._ready_client()

        async def ensure() -> None:  # built per call, its text only when it runs
            allowed = self._options.auto_migrate if auto_migrate is None else auto_migrate
            where = f"{meta_key(namespace)} {version_field(component)} at {self._address}"
            await ensure_schema(client, namespace, component, auto_migrate=allowed, where=where)

        with self.errors():
            await self._schemas.run((component.name, namespace), ensure)
        return client

    def scripts(self, register: Callable[[Redis], _T]) -> _T:
        """What ``register(client)`` makes of the shared client (a family's registered Lua
        scripts), made once per client. Registering does no I/O."""
        client = self._ready_client()
        if register not in self._scripts:
            self._scripts[register] = register(client)
        return cast("_T", self._scripts[register])

    async def run_script(
        self, script: AsyncScript, keys: Sequence[str], args: Sequence[str | int]
    ) -> Any:
        """``EVALSHA`` of a registered script; ``NOSCRIPT`` (a restarted server) loads it again.

        On a single server the call is packed by hiredis and sent on a pooled
        connection directly, without the client's per-command hooks, and is retried
        like any command (once, on a dropped connection); a cluster client routes it
        by its keys' slot.
        """
        client = self._ready_client()
        if self._target.cluster:
            return await script(keys=keys, args=args)
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self._round_trip(client, command)
        except redis.exceptions.NoScriptError:
            await client.script_load(script.script)
            return await self._round_trip(client, command)

    @staticmethod
    async def _round_trip(client: Redis, command: tuple[str | int, ...]) -> Any:
        """Send ``command`` on a pooled connection and read its reply.

        hiredis packs it (what redis-py's asyncio connection does in Python, ~9x
        slower for an append's arguments); str arguments go as UTF-8, as redis-py sends them.
        """
        pool = client.connection_pool
        connection = await pool.get_connection(*_GET_CONNECTION_ARGS)  # type: ignore[no-untyped-call]
        packed = hiredis.pack_command(command)  # type: ignore[arg-type]  # its stub: a 1-tuple

        async def attempt() -> Any:
            await connection.send_packed_command(packed)
            return await connection.read_response()

        async def failed(_error: Exception) -> None:
            await connection.disconnect()

        try:
            return await connection.retry.call_with_retry(attempt, failed)
        finally:
            await pool.release(connection)

    async def migrate(self, namespace: str, component: RedisSchema) -> None:
        """Record or migrate ``component``'s layout in ``namespace`` now, even with
        ``auto_migrate`` off."""
        await self.client(namespace, component, auto_migrate=True)

    async def recorded_version(self, namespace: str, component: RedisSchema) -> int:
        """The layout version of ``component`` recorded for ``namespace`` (0: none).
        Writes nothing."""
        with self.errors():
            return await stored_version(self._ready_client(), namespace, component)

    async def ping(self) -> None:
        """One round trip to the server (no schema check)."""
        with self.errors():
            await self._ready_client().ping()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Translate redis-py errors into kode errors (the driver error is the cause)."""
        with map_exceptions(self._errors):
            yield

    # -- the lazily created client ----------------------------------------------------------

    def _ready_client(self) -> Redis:
        if self._closed:
            raise BackendError("redis", "this backend is closed")
        if self._client is None:
            # Building the client does no I/O, so no await can interleave here.
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Redis:
        options = self._options
        # The budget of connect_timeout covers the first attempt and the retry.
        attempt_timeout = options.connect_timeout / (_RETRIES + 1)
        retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.05), _RETRIES)
        if self._target.cluster:
            return self._make_cluster_client(attempt_timeout, retry)
        pool = BlockingConnectionPool.from_url(
            self._target.url,
            max_connections=options.max_connections,
            timeout=options.connect_timeout,
            socket_connect_timeout=attempt_timeout,
            socket_timeout=options.socket_timeout,
            retry=retry,
            client_name=CLIENT_NAME,
            decode_responses=True,
        )
        return Redis.from_pool(pool)

    def _make_cluster_client(self, attempt_timeout: float, retry: Retry) -> Redis:
        """A ``RedisCluster`` reaching every primary, discovered from the seed nodes.

        It offers every command and script call the stores make (each touches one hash
        slot, or scans every primary), so they hold it as a ``Redis``.
        """
        options = self._options
        client = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in self._target.seeds],
            max_connections=options.max_connections,
            socket_connect_timeout=attempt_timeout,
            socket_timeout=options.socket_timeout,
            retry=retry,
            client_name=CLIENT_NAME,
            decode_responses=True,
            **self._url_kwargs(),
        )
        return cast("Redis", client)

    def _url_kwargs(self) -> dict[str, Any]:
        """What a cluster URL says besides its node (credentials, TLS...), as redis-py's
        ``RedisCluster.from_url`` would read it."""
        kwargs: dict[str, Any] = {
            k: v for k, v in parse_url(self._target.url).items() if k not in ("host", "port", "db")
        }
        if kwargs.pop("connection_class", None) is SSLConnection:
            kwargs["ssl"] = True
        return kwargs

    # -- error translation --------------------------------------------------------------------

    def _unavailable(self, exc: BaseException) -> KodeError:
        return BackendUnavailableError("redis", self._address, redact(str(exc), self._secrets))

    def _driver_error(self, exc: BaseException) -> KodeError:
        return BackendError("redis", redact(str(exc), self._secrets))
