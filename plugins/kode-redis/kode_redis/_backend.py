"""The ``redis`` backend: one ``redis.asyncio`` client and pool per server configuration."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis
import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import AsyncScript

import kode_core
from kode_core import BackendError, BackendUnavailableError, OncePerKey

from ._agent_schema import AGENTS
from ._agent_scripts import AgentScripts
from ._agent_store import RedisAgentStore
from ._options import RedisOptions, redis_address
from ._schema import SESSIONS, KeyLayout, SchemaComponent, ensure_schema, stored_version
from ._session_store import APPEND_LUA, RedisSessionStore

#: One retry after a short pause: enough to replace a pooled connection the server
#: closed (restart, idle timeout), never an unbounded wait on an engine that is down.
_RETRIES = 1
#: Connection name shown by ``CLIENT LIST``, so operators can tell kode's connections.
CLIENT_NAME = "kode"


class RedisBackend(kode_core.Backend):
    """Session and agent stores on a Redis server, sharing one client and connection pool.

    Construction does no I/O and even the pool connects lazily, on the first
    command. Each namespace's layout version is checked once, on first use.
    """

    kind = "redis"

    def __init__(self, options: RedisOptions) -> None:
        self._options = options
        self._address = redis_address(options.url)
        self._password = urlsplit(options.url).password
        self._client: Redis | None = None
        self._append: AsyncScript | None = None
        self._closed = False
        self._schemas: OncePerKey[tuple[str, str]] = OncePerKey()
        self._agent_scripts: AgentScripts | None = None

    def __repr__(self) -> str:
        return f"<RedisBackend {self._address}>"

    def session_store(self, options: kode_core.BackendOptions) -> RedisSessionStore:
        if not isinstance(options, RedisOptions):
            raise TypeError(f"expected RedisOptions, got {type(options).__name__}")
        return RedisSessionStore(self, options)

    def agent_store(self, options: kode_core.BackendOptions) -> RedisAgentStore:
        if not isinstance(options, RedisOptions):
            raise TypeError(f"expected RedisOptions, got {type(options).__name__}")
        return RedisAgentStore(self, options)

    async def agent_client(
        self, namespace: str, *, auto_migrate: bool | None = None
    ) -> tuple[Redis, AgentScripts]:
        """The shared client and the agent scripts, once ``namespace``'s agent-store
        layout version has been checked (recorded with ``auto_migrate``)."""
        client = await self._checked_client(namespace, AGENTS, auto_migrate)
        if self._agent_scripts is None:
            self._agent_scripts = AgentScripts.register(client)
        return client, self._agent_scripts

    async def ping(self) -> None:
        """One round trip to the server (no schema check)."""
        with self.errors():
            await self._ready_client().ping()

    async def client(self, namespace: str, *, auto_migrate: bool | None = None) -> Redis:
        """The shared client, once ``namespace``'s layout version has been checked.

        ``auto_migrate`` overrides the option of that name (:meth:`migrate` sets it).
        """
        return await self._checked_client(namespace, SESSIONS, auto_migrate)

    async def _checked_client(
        self, namespace: str, component: SchemaComponent, auto_migrate: bool | None
    ) -> Redis:
        client = self._ready_client()
        allowed = self._options.auto_migrate if auto_migrate is None else auto_migrate

        async def ensure() -> None:
            await ensure_schema(client, KeyLayout(namespace), component, auto_migrate=allowed)

        with self.errors():
            await self._schemas.run((component.name, namespace), ensure)
        return client

    @property
    def driver_version(self) -> str:
        return f"redis-py {redis.__version__}"

    async def recorded_version(self, namespace: str) -> int:
        """The layout version recorded for ``namespace`` (0: none). Writes nothing."""
        with self.errors():
            return await stored_version(self._ready_client(), KeyLayout(namespace), SESSIONS)

    async def project_keys(self, namespace: str, after: str | None, limit: int) -> list[str]:
        """Projects with a sessions index, code point order, after ``after``, at most ``limit``.

        Redis keeps no index of projects (one would span cluster slots), so this scans
        the namespace's keys: an operator's call, O(keys), never on an append's path.
        """
        layout = KeyLayout(namespace)
        client = await self.client(namespace)
        found: set[str] = set()
        with self.errors():
            async for name in client.scan_iter(match=layout.sessions_pattern, count=1000):
                project = layout.project_of(name)
                if project is not None and (after is None or project > after):
                    found.add(project)
        return sorted(found)[:limit]

    async def migrate(self, namespace: str) -> None:
        """Record ``namespace``'s layout version now, even with ``auto_migrate`` off."""
        await self.client(namespace, auto_migrate=True)

    async def append_script(self, keys: list[str], args: list[str | int]) -> int:
        """Run the append script (``EVALSHA``, loading it again after a server restart)."""
        assert self._append is not None, "client() runs first"
        return int(await self._append(keys, args))

    def _ready_client(self) -> Redis:
        if self._closed:
            raise BackendError("redis", "this backend is closed")
        if self._client is None:
            # Building the client does no I/O, so no await can interleave here.
            self._client = self._make_client()
            self._append = self._client.register_script(APPEND_LUA)
        return self._client

    def _make_client(self) -> Redis:
        options = self._options
        # The budget of connect_timeout covers the first attempt and the retry.
        attempt_timeout = options.connect_timeout / (_RETRIES + 1)
        retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.05), _RETRIES)
        pool = BlockingConnectionPool.from_url(
            options.url,
            max_connections=options.max_connections,
            timeout=options.connect_timeout,
            socket_connect_timeout=attempt_timeout,
            socket_timeout=options.socket_timeout,
            retry=retry,
            client_name=CLIENT_NAME,
            decode_responses=True,
        )
        return Redis.from_pool(pool)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Translate redis-py errors into kode errors (the driver error is the cause)."""
        with kode_core.map_exceptions(
            {
                redis.exceptions.ConnectionError: self._unavailable,
                redis.exceptions.TimeoutError: self._unavailable,
                OSError: self._unavailable,
                redis.exceptions.RedisError: lambda exc: BackendError("redis", str(exc)),
            }
        ):
            yield

    def _unavailable(self, exc: BaseException) -> BackendUnavailableError:
        detail = str(exc)
        if self._password:
            detail = detail.replace(self._password, "***")
        return BackendUnavailableError("redis", self._address, detail)

    async def aclose(self) -> None:
        """Close the pool's connections. Idempotent."""
        self._closed = True
        client, self._client, self._append = self._client, None, None
        self._agent_scripts = None
        if client is not None:
            await client.aclose()
