"""The sqlite backend: one database file, one writer connection and a few readers.

Every ``sqlite3`` call runs in a worker thread (``anyio.to_thread``). A
connection is lent to one thread at a time. Writes run in ``BEGIN IMMEDIATE``
transactions: SQLite's file lock lets one writer in at a time across every
process using the file, and ``busy_timeout`` is how long a writer waits for it.
Within a process, writers queue for the single writer connection instead of
spinning on the file lock, and the writes queued together commit together (group
commit, :mod:`kode_sqlite._group_commit`); correctness never depends on that queue.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import anyio
import anyio.to_thread

from kode_core import (
    BackendError,
    BackendUnavailableError,
    KodeError,
    LockTimeoutError,
)
from kode_core.backend import Backend, OncePerKey, SchemaComponent, map_exceptions

from ._group_commit import GroupCommit
from ._options import SqliteOptions
from ._schema import MigrationT, action, ensure_schema, stored_version

_T = TypeVar("_T")

# SQLite primary result codes (the sqlite3 module names them only from Python 3.11).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26

#: UPSERT (``INSERT ... ON CONFLICT``) arrived in SQLite 3.24.
MIN_SQLITE_VERSION = (3, 24, 0)


def _with_busy_timeout(
    work: Callable[[sqlite3.Connection], _T], conn: sqlite3.Connection, busy_ms: int
) -> _T:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    return work(conn)


class _ConnectionPool:
    """At most ``size`` connections, opened on demand, each used by one thread at a time."""

    def __init__(self, size: int, connect: Callable[[], Awaitable[sqlite3.Connection]]) -> None:
        self._limiter = anyio.CapacityLimiter(size)
        self._connect = connect
        self._idle: list[sqlite3.Connection] = []
        self._closed = False

    async def run(
        self,
        work: Callable[[sqlite3.Connection], _T],
        *,
        wait: float,
        on_wait_timeout: Callable[[], KodeError],
    ) -> _T:
        """Run ``work(connection)`` in a worker thread.

        ``wait`` bounds the whole wait of the call: first for a free connection
        here, then, with what is left as the connection's busy timeout, for
        SQLite's file lock.
        """
        deadline = anyio.current_time() + wait
        with anyio.move_on_after(wait) as waiting:
            await self._limiter.acquire()
        if waiting.cancelled_caught:
            raise on_wait_timeout()
        try:
            conn = self._idle.pop() if self._idle else await self._connect()
            left_ms = max(1, round((deadline - anyio.current_time()) * 1000))
            try:
                return await anyio.to_thread.run_sync(_with_busy_timeout, work, conn, left_ms)
            finally:
                if self._closed:
                    conn.close()
                else:
                    self._idle.append(conn)
        finally:
            self._limiter.release()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        # Closing the last connection checkpoints the WAL: file I/O, so off the loop.
        await anyio.to_thread.run_sync(_close_all, idle)


def _set_journal_mode(conn: sqlite3.Connection, mode: str, busy_timeout: float) -> str:
    """Set ``mode`` on a new connection; the mode the file is in afterwards.

    On a fresh file that another process is converting to WAL and writing, the pragma
    can fail with "database is locked" at once, without the busy handler (SQLite
    refuses to wait where waiting could deadlock): it is tried again until
    ``busy_timeout`` has passed.
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            # fetchall: a statement left unfinished would hold a read lock on the file.
            [(found,)] = conn.execute(f"PRAGMA journal_mode = {mode}").fetchall()
            return str(found)
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in (_SQLITE_BUSY, _SQLITE_LOCKED) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _create_file(path: str) -> None:
    sqlite3.connect(path).close()  # creates an empty database if there is none


def _read_only_uri(path: str) -> str | None:
    """A ``mode=ro`` URI for an existing file this process may not write; else None.

    A file (or its folder) that is read-only for this user can still be read: opened
    read-only, with no journal-mode change. A WAL file left without its ``-wal``
    companion in a read-only folder is opened ``immutable`` (SQLite could not create
    the ``-shm`` index there, and nobody can be writing it).
    """
    if not os.path.exists(path):
        return None  # opening creates it (or fails saying why)
    folder = os.path.dirname(os.path.abspath(path))
    folder_writable = os.access(folder, os.W_OK)
    if os.access(path, os.W_OK) and folder_writable:
        return None
    query = "mode=ro"
    if not folder_writable and not os.path.exists(f"{path}-wal"):
        query += "&immutable=1"
    return f"file:{urllib.parse.quote(os.path.abspath(path))}?{query}"


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for conn in connections:
        conn.close()


class SqliteBackend(Backend):
    """One SQLite database file shared by every namespace and every store built on it.

    Construction does no I/O; the file is opened (and created) on first use. The
    backend knows no service family: a family's store describes its tables as a
    :class:`~kode_core.backend.SchemaComponent` whose migrations are functions
    ``namespace -> list of SQL statements`` and passes it to :meth:`read`,
    :meth:`write`, :meth:`migrate` and :meth:`recorded_version`. A plugin adding a
    family to the ``sqlite`` kind does the same::

        NOTES = SchemaComponent("notes", 1, {1: lambda ns: [f'CREATE TABLE "{ns}__notes" (...)']})

        class SqliteNoteStore(NoteStore):
            def __init__(self, backend: SqliteBackend, options, settings) -> None:
                super().__init__(options, settings)
                self._backend = backend
                self._use_schema(backend, NOTES)  # migrate() and schema_version() with it

            async def add(self, text: str) -> None:
                sql = f'INSERT INTO "{self.namespace}__notes" (text) VALUES (?)'
                await self._backend.write(self.namespace, NOTES, lambda c: c.execute(sql, (text,)))
    """

    kind = "sqlite"

    def __init__(self, options: SqliteOptions) -> None:
        self._options = options
        self._path = os.fspath(options.path)
        self._writer = _ConnectionPool(1, self._connect)
        self._group_commit = GroupCommit(self._writer.run)
        self._readers = _ConnectionPool(options.max_connections, self._connect)
        self._schemas: OncePerKey[tuple[str, str]] = OncePerKey()
        self._closed = False

    def __repr__(self) -> str:
        return f"<SqliteBackend path={self._path!r}>"

    @property
    def path(self) -> str:
        """The database file, as configured."""
        return self._path

    @property
    def driver_version(self) -> str:
        return f"sqlite3 (SQLite {sqlite3.sqlite_version})"

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._writer.aclose()
        await self._readers.aclose()

    # -- what the stores of every family use ---------------------------------------------

    async def read(
        self,
        namespace: str,
        component: SchemaComponent[MigrationT],
        work: Callable[[sqlite3.Connection], _T],
    ) -> _T:
        """Run ``work(connection)`` on a reader connection and return its result.

        First makes sure ``component``'s tables are in place for ``namespace`` (created
        or migrated once per backend when ``auto_migrate`` is on; otherwise a missing
        or older version raises :class:`~kode_core.SchemaVersionError`, as does a
        newer one). ``work`` runs in a worker thread with the connection lent to it
        alone; it must fetch everything it reads (``fetchall``) and not keep the
        connection. Raises :class:`~kode_core.LockTimeoutError` when no connection
        frees up within ``busy_timeout``, :class:`~kode_core.BackendUnavailableError`
        when the file cannot be opened or the backend is closed, and
        :class:`~kode_core.BackendError` for other SQLite errors.
        """
        await self._ensure_schema(namespace, component)
        return await self._run(self._readers, work)

    async def write(
        self,
        namespace: str,
        component: SchemaComponent[MigrationT],
        work: Callable[[sqlite3.Connection], _T],
    ) -> _T:
        """Run ``work(connection)`` in one ``BEGIN IMMEDIATE`` transaction on the writer
        connection and return its result.

        Like :meth:`read` (schema check, worker thread, errors), but every statement of
        ``work`` commits together or, if it raises, not at all. Calls made while another
        write runs share the next transaction, each in its own savepoint: one call's
        error rolls back that call's statements only (``work`` must not begin, commit
        or roll back a transaction itself). SQLite's file lock
        admits one writer at a time across every process using the file; waiting for
        it longer than ``busy_timeout`` raises :class:`~kode_core.LockTimeoutError`.
        """
        await self._ensure_schema(namespace, component)
        if self._closed:
            raise BackendUnavailableError("sqlite", self._path, "the backend is closed")
        with map_exceptions({sqlite3.Error: self._translate}):
            return await self._group_commit.run(
                work, wait=self._options.busy_timeout, on_wait_timeout=self._no_free_connection
            )

    async def read_unchecked(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` on a reader connection without looking at any schema (health checks)."""
        return await self._run(self._readers, work)

    async def migrate(self, namespace: str, component: SchemaComponent[MigrationT]) -> None:
        """Create or upgrade ``component``'s tables in ``namespace`` now, and record the
        version in ``kode_meta``, even with ``auto_migrate`` off (the file is created if
        missing).

        Idempotent and safe from several processes at once: the migration runs under
        the file lock and decides again there. Raises
        :class:`~kode_core.SchemaVersionError` if the recorded version is newer than
        ``component.version``.
        """
        if not self._options.auto_migrate:
            # Connections refuse to create a missing file then; a migration may.
            with map_exceptions({sqlite3.Error: self._translate}):
                await anyio.to_thread.run_sync(_create_file, self._path)
        await self._ensure_schema(namespace, component, auto_migrate=True)

    async def recorded_version(self, namespace: str, component: SchemaComponent[MigrationT]) -> int:
        """The version of ``component`` recorded for ``namespace`` in ``kode_meta``; 0 when
        none is (or there is no file yet). Reads only and creates nothing."""
        if not await anyio.to_thread.run_sync(os.path.exists, self._path):
            return 0  # opening it would create the file

        def work(conn: sqlite3.Connection) -> int:
            return stored_version(conn, namespace, component)

        return await self._run(self._readers, work)

    # -- internals -------------------------------------------------------------------

    async def _run(self, pool: _ConnectionPool, work: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closed:
            raise BackendUnavailableError("sqlite", self._path, "the backend is closed")
        with map_exceptions({sqlite3.Error: self._translate}):
            return await pool.run(
                work, wait=self._options.busy_timeout, on_wait_timeout=self._no_free_connection
            )

    async def _ensure_schema(
        self,
        namespace: str,
        component: SchemaComponent[MigrationT],
        *,
        auto_migrate: bool | None = None,
    ) -> None:
        allowed = self._options.auto_migrate if auto_migrate is None else auto_migrate
        where = f"{self._path} (namespace {namespace!r}, {component.name} tables)"

        async def step() -> None:
            if not allowed and not await anyio.to_thread.run_sync(os.path.exists, self._path):
                # Opening would create the file; without migrations there is nothing to use.
                action(0, component, auto_migrate=False, where=f"{self._path} (no such file)")
            work = partial(
                ensure_schema,
                namespace=namespace,
                component=component,
                auto_migrate=allowed,
                where=where,
            )
            await self._run(self._writer, work)

        await self._schemas.run((component.name, namespace), step)

    async def _connect(self) -> sqlite3.Connection:
        timeout = self._options.connect_timeout
        # A hung file system must not hang the caller: abandon the thread after
        # connect_timeout (a connection it opens later is closed when collected).
        with anyio.move_on_after(timeout):
            return await anyio.to_thread.run_sync(self._open_connection, abandon_on_cancel=True)
        raise BackendUnavailableError(
            "sqlite", self._path, f"not opened within connect_timeout ({timeout} s)"
        )

    def _open_connection(self) -> sqlite3.Connection:
        options = self._options
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise BackendError(
                "sqlite", f"SQLite {sqlite3.sqlite_version} is too old, kode needs 3.24 or newer"
            )
        if not options.auto_migrate and not os.path.exists(self._path):
            # Opening would create the file; without migrations there is nothing to use.
            raise BackendUnavailableError(
                "sqlite", self._path, "no such file (auto_migrate is off: run `kode migrate`)"
            )
        read_only = _read_only_uri(self._path)
        conn = sqlite3.connect(
            read_only or self._path,
            timeout=options.busy_timeout,
            isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
            check_same_thread=False,  # the pool lends a connection to one thread at a time
            uri=read_only is not None,
        )
        if read_only is not None:
            return conn  # reads work; a write fails "attempt to write a readonly database"
        try:
            mode = _set_journal_mode(conn, options.journal_mode, options.busy_timeout)
            if str(mode).lower() != options.journal_mode:
                raise BackendError(
                    "sqlite",
                    f"{self._path}: journal_mode {options.journal_mode!r} refused, "
                    f"the file stays in {mode!r}",
                )
        except BaseException:
            conn.close()
            raise
        return conn

    def _lock_timeout(self) -> LockTimeoutError:
        return LockTimeoutError(
            f"sqlite: {self._path} stayed locked by another writer for longer than "
            f"busy_timeout ({self._options.busy_timeout} s)"
        )

    def _no_free_connection(self) -> LockTimeoutError:
        return LockTimeoutError(
            f"sqlite: no connection to {self._path} became free within "
            f"busy_timeout ({self._options.busy_timeout} s): this process's other calls hold them"
        )

    def _translate(self, exc: BaseException) -> KodeError:
        code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc)
        lowered = text.lower()
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "is locked" in lowered:
            return self._lock_timeout()
        if (
            primary in (_SQLITE_CANTOPEN, _SQLITE_IOERR, _SQLITE_READONLY)
            or "unable to open" in lowered
            or "disk i/o error" in lowered
            or "readonly" in lowered
        ):
            return BackendUnavailableError("sqlite", self._path, text)
        if (
            primary in (_SQLITE_NOTADB, _SQLITE_CORRUPT)
            or "not a database" in lowered
            or "malformed" in lowered
        ):
            return BackendError("sqlite", f"{self._path} is not a usable SQLite database: {text}")
        return BackendError("sqlite", f"{self._path}: {text}")
