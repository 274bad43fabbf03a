"""The run store in SQLite: one namespace's ``<namespace>__run_*`` tables."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from kode_core import ConflictError
from kode_core.backend import BackendOptions
from kode_core.runs import ApprovalRow, RunMerge, RunOptions, RunRow, RunStore, StoredRun

from .._backend import SqliteBackend
from .._threads.schema import RUNS, ConversationTables
from .._threads.store import read_snapshot
from .sql import insert_approvals, load_run, load_thread_runs

_T = TypeVar("_T")
Work = Callable[[sqlite3.Connection], _T]


class SqliteRunStore(RunStore):
    """Runs in a SQLite file. Writes are ``BEGIN IMMEDIATE`` transactions: SQLite's file
    lock admits one writer at a time across processes, so a claim is one conditional
    ``UPDATE`` that exactly one caller sees change a row."""

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: RunOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, RUNS)
        self._t = ConversationTables.for_namespace(options.namespace)

    def __repr__(self) -> str:
        return f"<SqliteRunStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Work[_T]) -> _T:
        return await self._backend.write(self.namespace, RUNS, work)

    async def _read(self, work: Work[_T]) -> _T:
        def snapshot(conn: sqlite3.Connection) -> _T:
            with read_snapshot(conn):
                return work(conn)

        return await self._backend.read(self.namespace, RUNS, snapshot)

    async def _insert_run(self, row: RunRow, approvals: Sequence[ApprovalRow]) -> None:
        t = self._t

        def work(conn: sqlite3.Connection) -> None:
            exists = conn.execute(
                f"SELECT 1 FROM {t.runs} WHERE run_id = ?", (row.run_id,)
            ).fetchall()
            if exists:
                raise ConflictError(f"run {row.run_id!r} exists", run_id=row.run_id)
            conn.execute(
                f"""INSERT INTO {t.runs} (run_id, thread_id, resource_id, agent_name, status,
                    created_ms, updated_ms, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    row.run_id,
                    row.thread_id,
                    row.resource_id,
                    row.agent_name,
                    row.status,
                    row.created_ms,
                    row.updated_ms,
                    row.body,
                ),
            )
            insert_approvals(conn, t, approvals)

        await self._write(work)

    async def _update_run(
        self, run_id: str, merge: RunMerge, approvals: Sequence[ApprovalRow] | None
    ) -> StoredRun | None:
        t = self._t

        def work(conn: sqlite3.Connection) -> StoredRun | None:
            found = conn.execute(
                f"SELECT body FROM {t.runs} WHERE run_id = ?", (run_id,)
            ).fetchall()
            if not found:
                return None
            row = merge(found[0][0])
            if approvals is not None:
                conn.execute(
                    f"DELETE FROM {t.approvals} WHERE run_id = ? AND decision IS NULL", (run_id,)
                )
                conn.executemany(
                    f"DELETE FROM {t.approvals} WHERE run_id = ? AND tool_call_id = ?",
                    [(run_id, a.tool_call_id) for a in approvals],
                )
                insert_approvals(conn, t, approvals)
            conn.execute(
                f"UPDATE {t.runs} SET status = ?, updated_ms = ?, body = ? WHERE run_id = ?",
                (row.status, row.updated_ms, row.body, run_id),
            )
            return load_run(conn, t, run_id)

        return await self._write(work)

    async def _load_run(self, run_id: str) -> StoredRun | None:
        return await self._read(lambda conn: load_run(conn, self._t, run_id))

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        return await self._read(lambda conn: load_thread_runs(conn, self._t, thread_id))

    async def _pending_run(self, tool_call_id: str) -> StoredRun | None:
        t = self._t

        def work(conn: sqlite3.Connection) -> StoredRun | None:
            found = conn.execute(
                f"""SELECT run_id FROM {t.approvals}
                    WHERE tool_call_id = ? AND decision IS NULL""",
                (tool_call_id,),
            ).fetchall()
            return load_run(conn, t, found[0][0]) if found else None

        return await self._read(work)

    async def _claim_approval(self, tool_call_id: str, decision: str, resolved_ms: int) -> bool:
        sql = f"""UPDATE {self._t.approvals} SET decision = ?, resolved_ms = ?
                  WHERE tool_call_id = ? AND decision IS NULL"""

        def work(conn: sqlite3.Connection) -> bool:
            return conn.execute(sql, (decision, resolved_ms, tool_call_id)).rowcount == 1

        return await self._write(work)

    async def _append_score(self, run_id: str, created_ms: int, body: str) -> None:
        sql = f"INSERT INTO {self._t.scores} (run_id, created_ms, body) VALUES (?, ?, ?)"
        await self._write(lambda conn: conn.execute(sql, (run_id, created_ms, body)))

    async def _scores(self, run_id: str) -> builtins.list[str]:
        sql = f"SELECT body FROM {self._t.scores} WHERE run_id = ? ORDER BY id"
        rows = await self._read(lambda conn: conn.execute(sql, (run_id,)).fetchall())
        return [body for (body,) in rows]
