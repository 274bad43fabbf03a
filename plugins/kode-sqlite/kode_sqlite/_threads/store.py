"""The thread store in SQLite: one namespace's ``<namespace>__thread_*`` tables."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from kode_core import ConflictError
from kode_core.backend import BackendOptions
from kode_core.runs import StoredRun
from kode_core.threads import MessageRow, ThreadOptions, ThreadQuery, ThreadRow, ThreadStore

from .._backend import SqliteBackend
from .._runs.sql import delete_runs_of_thread, load_thread_runs
from .schema import THREADS, ConversationTables

_T = TypeVar("_T")
Work = Callable[[sqlite3.Connection], _T]
_THREAD_COLUMNS = "id, resource_id, created_ms, updated_ms, body"


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: every statement inside sees the same committed state."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        with suppress(sqlite3.Error):
            conn.execute("COMMIT")


def _thread_rows(rows: Sequence[tuple[Any, ...]]) -> list[ThreadRow]:
    return [ThreadRow(*row) for row in rows]


def list_threads_sql(t: ConversationTables, query: ThreadQuery) -> tuple[str, list[object]]:
    """The console's listing as one statement: every filter before LIMIT/OFFSET."""
    where: list[str] = []
    params: list[object] = []
    if query.resource_id is not None:
        where.append("resource_id = ?")
        params.append(query.resource_id)
    if query.owners is not None:
        where.append(
            "("
            + " OR ".join(
                "(resource_id = ? OR (resource_id >= ? AND resource_id < ?))" for _ in query.owners
            )
            + ")"
        )
        for owner in query.owners:
            params += [owner.exact, owner.low, owner.high]
    if query.agent_name is not None:
        where.append(
            f"EXISTS (SELECT 1 FROM {t.runs} r WHERE r.agent_name = ? AND r.thread_id = th.id)"
        )
        params.append(query.agent_name)
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    sql = f"""SELECT {_THREAD_COLUMNS} FROM {t.threads} th {condition}
              ORDER BY updated_ms DESC, id DESC LIMIT ? OFFSET ?"""
    return sql, [*params, query.limit, query.offset]


class SqliteThreadStore(ThreadStore):
    """Threads in a SQLite file; every write is one ``BEGIN IMMEDIATE`` transaction, so
    numbering a batch of messages and deleting a thread with its runs are atomic."""

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: ThreadOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, THREADS)
        self._t = ConversationTables.for_namespace(options.namespace)

    def __repr__(self) -> str:
        return f"<SqliteThreadStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Work[_T]) -> _T:
        return await self._backend.write(self.namespace, THREADS, work)

    async def _read(self, work: Work[_T]) -> _T:
        def snapshot(conn: sqlite3.Connection) -> _T:
            with read_snapshot(conn):
                return work(conn)

        return await self._backend.read(self.namespace, THREADS, snapshot)

    async def _fetch(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return await self._read(lambda conn: conn.execute(sql, params).fetchall())

    async def _insert_thread(self, row: ThreadRow) -> None:
        sql = f"INSERT OR IGNORE INTO {self._t.threads} ({_THREAD_COLUMNS}) VALUES (?, ?, ?, ?, ?)"

        def work(conn: sqlite3.Connection) -> None:
            params = (row.id, row.resource_id, row.created_ms, row.updated_ms, row.body)
            if conn.execute(sql, params).rowcount != 1:
                raise ConflictError(f"thread {row.id!r} exists", thread_id=row.id)

        await self._write(work)

    async def _load_thread(self, thread_id: str) -> ThreadRow | None:
        sql = f"SELECT {_THREAD_COLUMNS} FROM {self._t.threads} WHERE id = ?"
        rows = _thread_rows(await self._fetch(sql, (thread_id,)))
        return rows[0] if rows else None

    async def _resource_threads(self, resource_id: str) -> builtins.list[ThreadRow]:
        sql = f"""SELECT {_THREAD_COLUMNS} FROM {self._t.threads} WHERE resource_id = ?
                  ORDER BY updated_ms DESC, id DESC"""
        return _thread_rows(await self._fetch(sql, (resource_id,)))

    async def _delete_thread(self, thread_id: str) -> bool:
        t = self._t

        def work(conn: sqlite3.Connection) -> bool:
            found = conn.execute(f"DELETE FROM {t.threads} WHERE id = ?", (thread_id,)).rowcount
            conn.execute(f"DELETE FROM {t.messages} WHERE thread_id = ?", (thread_id,))
            conn.execute(f"DELETE FROM {t.memory} WHERE scope = 'thread' AND id = ?", (thread_id,))
            delete_runs_of_thread(conn, t, thread_id)
            return found == 1

        return await self._write(work)

    async def _load_messages(
        self, thread_id: str, last_n: int | None, before: str | None
    ) -> builtins.list[str] | None:
        t = self._t
        limit = -1 if last_n is None else last_n  # SQLite: a negative LIMIT is no limit

        def work(conn: sqlite3.Connection) -> list[str] | None:
            end: int | None = None
            if before is not None:
                found = conn.execute(
                    f"SELECT seq FROM {t.messages} WHERE thread_id = ? AND id = ?",
                    (thread_id, before),
                ).fetchall()
                if not found:
                    return None
                end = found[0][0]
            rows = conn.execute(
                f"""SELECT body FROM (SELECT seq, body FROM {t.messages}
                        WHERE thread_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?)
                    ORDER BY seq""",
                (thread_id, 2**63 - 1 if end is None else end, limit),
            ).fetchall()
            return [body for (body,) in rows]

        return await self._read(work)

    async def _append_messages(
        self, thread_id: str, rows: Sequence[MessageRow], updated_ms: int
    ) -> bool:
        t = self._t

        def work(conn: sqlite3.Connection) -> bool:
            touched = conn.execute(
                f"UPDATE {t.threads} SET updated_ms = MAX(updated_ms, ?) WHERE id = ?",
                (updated_ms, thread_id),
            ).rowcount
            if touched != 1:
                return False
            [(last,)] = conn.execute(
                f"SELECT COALESCE(MAX(seq), 0) FROM {t.messages} WHERE thread_id = ?",
                (thread_id,),
            ).fetchall()
            # A repeated id is skipped by the unique (thread_id, id) index; its seq stays
            # unused, which only leaves a gap in the numbering.
            conn.executemany(
                f"""INSERT INTO {t.messages} (thread_id, seq, id, created_ms, body)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_id, id) DO NOTHING""",
                [
                    (thread_id, last + i, row.id, row.created_ms, row.body)
                    for i, row in enumerate(rows, start=1)
                ],
            )
            return True

        return await self._write(work)

    async def _load_memory(self, scope: str, id: str) -> str | None:
        sql = f"SELECT body FROM {self._t.memory} WHERE scope = ? AND id = ?"
        rows = await self._fetch(sql, (scope, id))
        return rows[0][0] if rows else None

    async def _save_memory(self, scope: str, id: str, body: str, updated_ms: int) -> None:
        sql = f"""INSERT INTO {self._t.memory} (scope, id, updated_ms, body) VALUES (?, ?, ?, ?)
                  ON CONFLICT (scope, id) DO UPDATE SET updated_ms = excluded.updated_ms,
                  body = excluded.body"""
        await self._write(lambda conn: conn.execute(sql, (scope, id, updated_ms, body)))

    async def _all_memory(self) -> builtins.list[tuple[str, str, str]]:
        sql = f"SELECT scope, id, body FROM {self._t.memory} ORDER BY scope, id"
        return [(scope, id, body) for scope, id, body in await self._fetch(sql, ())]

    async def _list_threads(self, query: ThreadQuery) -> builtins.list[ThreadRow]:
        sql, params = list_threads_sql(self._t, query)
        return _thread_rows(await self._fetch(sql, params))

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        return await self._read(lambda conn: load_thread_runs(conn, self._t, thread_id))

    async def _agent_names(self) -> builtins.list[str]:
        rows = await self._fetch(f"SELECT DISTINCT agent_name FROM {self._t.runs} ORDER BY 1", ())
        return [name for (name,) in rows]
