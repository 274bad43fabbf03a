"""The ``pg`` backend: one lazily opened psycopg connection pool per server configuration."""

from __future__ import annotations

import contextlib
import math
import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
import psycopg_pool
from psycopg import AsyncConnection, AsyncCursor, IsolationLevel, errors, pq, sql
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from kode_core import BackendError, BackendUnavailableError, KodeError
from kode_core.backend import (
    Backend,
    ErrorMap,
    OncePerKey,
    address_of,
    map_exceptions,
    redact,
    url_secrets,
)

from ._conflicts import TransactionConflictError
from ._options import PgOptions, split_url
from ._schema import PgSchema, ensure_schema, schema_name, stored_version

Connection = AsyncConnection[TupleRow]
Pool = AsyncConnectionPool[Connection]

# SQLSTATE classes that mean "the server is gone or not accepting us right now":
# 08 connection exception, 57P admin/crash shutdown and "cannot connect now". But
# 08P01, a protocol violation, comes from a live server: e.g. a statement prepared by
# another client of a pooler ("bind message supplies 3 parameters, but ... requires 6").
_UNAVAILABLE_SQLSTATES = ("08", "57P")
_PROTOCOL_VIOLATION = "08P01"


class PgBackend(Backend):
    """A PostgreSQL server reached through one ``psycopg_pool.AsyncConnectionPool``.

    Nothing connects until the first store call. Every namespace is a schema of
    the same database, so stores of all namespaces share the pool. Dead
    connections (after a server restart) are detected by the pool's check and
    replaced, so callers only need to retry the failed operation.
    """

    kind = "pg"

    def __init__(self, options: PgOptions) -> None:
        self._options = options
        self._conninfo = split_url(options.url)[0]
        self._prepare_threshold = options.effective_prepare_threshold
        self._set_timeout = _set_local_timeout(options.statement_timeout)
        self._statements_in_transaction = self._set_timeout is not None
        self._address = address_of(options.url)
        self._timeout = float(options.connect_timeout)
        self._pool: Pool | None = None
        self._closed = False
        self._in_use = 0
        self._pool_opened: OncePerKey[str] = OncePerKey()
        self._schemas_ready: OncePerKey[tuple[str, str]] = OncePerKey()
        self._secrets = url_secrets(options.url)
        self._errors: ErrorMap = {
            PoolTimeout: self._unavailable,
            psycopg.Error: self._driver_error,
            OSError: self._unavailable,
        }

    def __repr__(self) -> str:
        return f"<PgBackend {self._address} pool={'open' if self._pool else 'not open'}>"

    @property
    def address(self) -> str:
        """``host:port`` of the server, without credentials."""
        return self._address

    @property
    def driver_version(self) -> str:
        return f"psycopg {psycopg.__version__}, psycopg_pool {psycopg_pool.__version__}"

    async def aclose(self) -> None:
        """Close the pool (if it was ever opened). Idempotent."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            with anyio.CancelScope(shield=True):
                await pool.close()

    @asynccontextmanager
    async def connection(self, namespace: str, component: PgSchema) -> AsyncIterator[Connection]:
        """A pooled connection once ``namespace``'s ``component`` tables are ready, for
        statements that only read.

        It is in autocommit mode, unless ``statement_timeout`` is set or the server's
        ``default_transaction_isolation`` is not READ COMMITTED: then it is in one READ
        COMMITTED transaction (see :meth:`transaction`), which sets the timeout.
        Driver errors raised while it is held are translated into kode errors.
        """
        async with self._held(namespace, component, None) as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self, namespace: str, component: PgSchema) -> AsyncIterator[Connection]:
        """A pooled connection in pipeline mode, in one transaction that commits on exit.

        The transaction pins its own isolation level, READ COMMITTED, whatever the
        server's ``default_transaction_isolation``, and sets ``statement_timeout`` with
        ``SET LOCAL``, which ends with it: behind a pooler in transaction mode, a
        per-connection ``SET`` would reach other clients. Statements queue until a
        result is fetched or the block ends (one round trip for a block that fetches
        nothing before its end). A serialization failure or deadlock raises
        :class:`TransactionConflictError`.
        """
        async with self._held(namespace, component, True) as conn:
            yield conn

    @asynccontextmanager
    async def _held(
        self, namespace: str, component: PgSchema, in_transaction: bool | None
    ) -> AsyncIterator[Connection]:
        with map_exceptions(self._errors):
            pool = await self._ready_pool()
            if in_transaction is None:  # known once the pool is open
                in_transaction = self._statements_in_transaction
            await self._ready_schema(pool, namespace, component, self._options.auto_migrate)
            async with self._checkout(pool) as conn:
                if not in_transaction:
                    yield conn
                    return
                try:
                    async with conn.pipeline(), conn.transaction():
                        if self._set_timeout is not None:
                            await conn.execute(self._set_timeout)
                        yield conn
                except Exception:
                    await _settle(conn)
                    raise

    async def migrate(self, namespace: str, component: PgSchema) -> None:
        """Create or upgrade ``namespace``'s ``component`` tables now, even with
        ``auto_migrate`` off."""
        with map_exceptions(self._errors):
            pool = await self._ready_pool()
            await self._ready_schema(pool, namespace, component, True)

    async def ping(self) -> None:
        """One round trip to the server (no schema needed)."""
        with map_exceptions(self._errors):
            async with self._checkout(await self._ready_pool()) as conn:
                await conn.execute("SELECT 1")

    async def recorded_version(self, namespace: str, component: PgSchema) -> int:
        """The version of ``component`` recorded for ``namespace`` (0: none). Creates nothing."""
        with map_exceptions(self._errors):
            async with self._checkout(await self._ready_pool()) as conn:
                return await stored_version(conn, namespace, component)

    # -- lazily opened pool and schemas ---------------------------------------------

    @asynccontextmanager
    async def _checkout(self, pool: Pool) -> AsyncIterator[Connection]:
        try:
            conn = await pool.getconn(timeout=self._timeout)
        except PoolTimeout:
            if self._in_use == 0:
                # Nothing of ours holds a connection, so this is not a busy pool: the
                # server was away long enough for the pool's reconnection back-off to
                # reach many seconds. A fresh pool connects as soon as it is back.
                await self._retire(pool)
            raise
        self._in_use += 1
        try:
            yield conn
        finally:
            self._in_use -= 1
            with anyio.CancelScope(shield=True):
                await pool.putconn(conn)

    async def _retire(self, pool: Pool) -> None:
        if self._pool is pool:
            # Both in one step (no await between), so no caller sees a half-state.
            self._pool = None
            self._pool_opened.forget("pool")
        with anyio.CancelScope(shield=True):
            await pool.close(timeout=1.0)

    async def _ready_pool(self) -> Pool:
        if not self._closed:
            await self._pool_opened.run("pool", self._open_pool)
        if self._closed or self._pool is None:
            raise BackendError("pg", "this backend is closed")
        return self._pool

    async def _open_pool(self) -> None:
        options = self._options
        # One direct attempt first: a refused or unknown server fails now with the
        # driver's reason, where the pool would retry until its timeout and then say
        # only "pool initialization incomplete".
        try:
            probe = await psycopg.AsyncConnection.connect(self._conninfo, **self._connect_kwargs())
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from exc
        async with probe:
            cur = await probe.execute("SHOW default_transaction_isolation")
            row = await cur.fetchone()
        # A statement outside a transaction runs at the server's default level: where
        # that is not READ COMMITTED (some teams make it serializable), every statement
        # runs in a transaction of kode's own, as with a statement_timeout.
        self._statements_in_transaction = (
            self._set_timeout is not None or row is None or row[0] != "read committed"
        )
        pool: Pool = AsyncConnectionPool(
            self._conninfo,
            kwargs=self._connect_kwargs(),
            min_size=options.min_pool_size,
            max_size=options.max_pool_size,
            open=False,
            check=_check_connection,
            configure=_configure,
            timeout=self._timeout,
            name=f"kode-pg {self._address}",
        )
        try:
            await pool.open(wait=True, timeout=self._timeout)
        except BaseException:
            # A pool that never opened keeps reconnecting in the background: stop it,
            # the next caller builds a fresh one.
            with anyio.CancelScope(shield=True):
                await pool.close(timeout=1.0)
            raise
        if self._closed:  # closed while we were connecting
            await self._retire(pool)
            return
        self._pool = pool

    def _connect_kwargs(self) -> dict[str, Any]:
        # libpq counts connect_timeout in whole seconds, at least 2; the pool's own
        # timeouts bound the wait precisely.
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(2, math.ceil(self._timeout)),
            "prepare_threshold": self._prepare_threshold,
        }
        if "application_name" not in psycopg.conninfo.conninfo_to_dict(self._conninfo):
            kwargs["application_name"] = "kode-pg"
        return kwargs

    async def _ready_schema(
        self, pool: Pool, namespace: str, component: PgSchema, auto_migrate: bool
    ) -> None:
        schema = schema_name(namespace)
        where = f'the {component.name} tables of schema "{schema}" at {self._address}'

        async def ensure() -> None:
            async with self._checkout(pool) as conn:
                await ensure_schema(
                    conn, namespace, component, auto_migrate=auto_migrate, where=where
                )

        await self._schemas_ready.run((component.name, namespace), ensure)

    # -- error translation ----------------------------------------------------------

    def _unavailable(self, exc: BaseException) -> KodeError:
        text = str(exc).strip()
        detail = text.splitlines()[0] if text else type(exc).__name__
        return BackendUnavailableError("pg", self._address, redact(detail, self._secrets))

    def _driver_error(self, exc: BaseException) -> KodeError:
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            if state is None or (
                state.startswith(_UNAVAILABLE_SQLSTATES) and state != _PROTOCOL_VIOLATION
            ):
                return self._unavailable(exc)
        detail = redact(str(exc).strip() or type(exc).__name__, self._secrets)
        if isinstance(exc, (errors.SerializationFailure, errors.DeadlockDetected)):
            return TransactionConflictError("pg", detail)
        return BackendError("pg", detail)


async def _check_connection(conn: Connection) -> None:
    """The pool's check on every checkout; raises if ``conn`` is not usable.

    An idle connection's socket has nothing to read: a server that restarts, or
    closes the connection for any other reason, sends its goodbye or end of stream,
    which makes the socket readable. So a quiet socket needs no round trip; anything
    else gets the pool's ``check_connection`` (an empty query), which fails on a
    dead connection (and consumes a notice that was only that).
    """
    if not conn.closed and not conn.broken and _socket_quiet(conn.fileno()):
        return
    await AsyncConnectionPool.check_connection(conn)


def _socket_quiet(fd: int) -> bool:
    """True if nothing (data, end of stream or an error) is waiting on socket ``fd``."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    readable, _, failed = select.select([fd], [], [fd], 0)  # Windows has no poll()
    return not readable and not failed


async def _configure(conn: Connection) -> None:
    # Client-side only (no round trip): every BEGIN psycopg sends then names the level.
    await conn.set_isolation_level(IsolationLevel.READ_COMMITTED)


async def rows_changed(cur: AsyncCursor[TupleRow]) -> int:
    """The rows ``cur``'s last statement inserted, updated or deleted.

    Inside :meth:`PgBackend.transaction` (and :meth:`PgBackend.connection` whenever it
    runs its statements in a transaction) the connection is in pipeline mode, where a
    statement's result, and with it ``rowcount``, is not in until it is synced: a nested
    pipeline block syncs on exit (one round trip) without leaving pipeline mode.
    """
    conn = cur.connection
    if conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:
        async with conn.pipeline():
            pass
    return cur.rowcount


async def _settle(conn: Connection) -> None:
    """Answer what a failed pipeline left unanswered, so a pooler lets go of the server.

    After an error, psycopg may leave the pipeline with a Flush that no Sync follows.
    PgBouncer (1.18, transaction mode) gives a server connection to a client that sends
    a Flush and waits for the next ReadyForQuery to take it back, which an idle pooled
    connection never asks for: every other client of that server queued until
    ``query_wait_timeout``. An empty query is answered with ReadyForQuery (one round
    trip, on the error path only); a connection that broke is the pool's to discard.
    """
    with contextlib.suppress(psycopg.Error):
        await conn.execute("")


def _set_local_timeout(seconds: float | None) -> sql.Composed | None:
    if seconds is None:
        return None
    timeout_ms = max(int(seconds * 1000), 1)
    return sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(timeout_ms))
