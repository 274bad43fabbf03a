"""The workflow store in SQLite: one namespace's ``<namespace>__wf_*`` tables."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kode_core import ConflictError
from kode_core.backend import BackendOptions, now_ms
from kode_core.workflows import (
    STEP_COLUMNS,
    ImportRows,
    RunRow,
    StepMatch,
    StepRow,
    StepUpdate,
    VersionRow,
    WorkflowOptions,
    WorkflowStore,
    apply_update,
    pick_update,
)

from .._backend import SqliteBackend
from .schema import WORKFLOWS, WorkflowTables
from .sql import WorkflowStatements

_T = TypeVar("_T")
Work = Callable[[sqlite3.Connection], _T]


def _step(values: Sequence[Any]) -> StepRow:
    return dict(zip(STEP_COLUMNS, values, strict=True))


def _step_params(row: StepRow) -> tuple[Any, ...]:
    return tuple(row[column] for column in STEP_COLUMNS)


class SqliteWorkflowStore(WorkflowStore):
    """Workflow state in one namespace's tables of a SQLite file.

    Every write is one ``BEGIN IMMEDIATE`` transaction, which SQLite's file lock
    admits one at a time across every process using the file: a claim reads the
    step's status and updates it with no other writer between. ``(run_id,
    step_name)`` is a UNIQUE constraint; the run lock is a lease row per run timed by
    this machine's clock (every process sharing the file runs on one machine).
    """

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: WorkflowOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, WORKFLOWS)
        self._sql = WorkflowStatements.for_tables(WorkflowTables.for_namespace(options.namespace))

    def __repr__(self) -> str:
        return f"<SqliteWorkflowStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Work[_T]) -> _T:
        return await self._backend.write(self.namespace, WORKFLOWS, work)

    async def _fetch(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        def work(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        return await self._backend.read(self.namespace, WORKFLOWS, work)

    async def _execute(self, sql: str, params: Sequence[object]) -> int:
        def work(conn: sqlite3.Connection) -> int:
            return conn.execute(sql, params).rowcount

        return await self._write(work)

    # -- runs ----------------------------------------------------------------------------

    async def _insert_run(self, row: RunRow) -> None:
        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(self._sql.insert_run, _run_params(row))
            except sqlite3.IntegrityError:
                raise ConflictError(
                    f"workflow run {row.run_id!r} exists", run_id=row.run_id
                ) from None

        await self._write(work)

    async def _get_run(self, run_id: str) -> RunRow | None:
        rows = await self._fetch(self._sql.get_run, (run_id,))
        return RunRow(*rows[0]) if rows else None

    async def _update_run_status(
        self, run_id: str, status: str, output: str | None, error: str | None, updated_ms: int
    ) -> bool:
        params = (status, output, error, updated_ms, run_id)
        return await self._execute(self._sql.update_run_status, params) == 1

    async def _get_state(self, run_id: str) -> dict[str, str]:
        return dict(await self._fetch(self._sql.get_state, (run_id,)))

    async def _put_state(self, run_id: str, name: str, value: str) -> None:
        await self._execute(self._sql.put_state, (run_id, name, value))

    async def _delete_run(self, run_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            return self._delete(conn, run_id)

        return await self._write(work)

    def _delete(self, conn: sqlite3.Connection, run_id: str) -> bool:
        count = 0
        for statement in self._sql.delete_run:
            count = conn.execute(statement, (run_id,)).rowcount
        return count == 1  # the last statement deletes the run row

    async def _prune(self, before_ms: int) -> int:
        def work(conn: sqlite3.Connection) -> int:
            doomed = conn.execute(self._sql.prunable_runs, (before_ms,)).fetchall()
            return sum(self._delete(conn, run_id) for (run_id,) in doomed)

        return await self._write(work)

    async def _list_runs(
        self, workflow: str | None, status: str | None, limit: int, offset: int
    ) -> builtins.list[RunRow]:
        rows = await self._fetch(self._sql.list_runs, (workflow, status, limit, offset))
        return [RunRow(*row) for row in rows]

    async def _distinct_workflows(self) -> builtins.list[str]:
        return [name for (name,) in await self._fetch(self._sql.distinct_workflows, ())]

    async def _find_stalled_runs(self, before_ms: int, limit: int) -> builtins.list[RunRow]:
        rows = await self._fetch(self._sql.stalled_runs, (before_ms, limit))
        return [RunRow(*row) for row in rows]

    # -- steps ----------------------------------------------------------------------------

    async def _insert_step(self, row: StepRow) -> None:
        sql = self._sql

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(sql.insert_step, _step_params(row))
            except sqlite3.IntegrityError:
                raise ConflictError(
                    f"run {row['run_id']!r} already has a step {row['step_name']!r}",
                    run_id=row["run_id"],
                    step_name=row["step_name"],
                ) from None
            conn.execute(sql.insert_attempt, _step_params(row))

        await self._write(work)

    async def _get_step(self, run_id: str, step_name: str) -> StepRow | None:
        rows = await self._fetch(self._sql.get_step, (run_id, step_name))
        return _step(rows[0]) if rows else None

    async def _list_steps(self, run_id: str) -> builtins.list[StepRow]:
        return [_step(row) for row in await self._fetch(self._sql.list_steps, (run_id,))]

    async def _update_step(
        self, match: StepMatch, updates: Sequence[StepUpdate]
    ) -> tuple[bool, StepRow] | None:
        sql = self._sql

        def work(conn: sqlite3.Connection) -> tuple[bool, StepRow] | None:
            # Inside BEGIN IMMEDIATE: the status read here is the one the update applies to.
            if match.by_id:
                found = conn.execute(sql.step_by_id, (match.step_id,)).fetchall()
            else:
                found = conn.execute(sql.get_step, (match.run_id, match.step_name)).fetchall()
            if not found:
                return None
            row = _step(found[0])
            update = pick_update(updates, row["status"])
            if update is None:
                return False, row
            after, new_attempt = apply_update(row, update)
            columns = list(update.changes)
            if new_attempt is not None:
                columns.append("attempt_count")
            values = [after[column] for column in columns]
            conn.execute(sql.update_step(columns), (*values, row["step_id"]))
            if new_attempt is not None:
                conn.execute(sql.insert_attempt, _step_params(new_attempt))
            else:
                params = (*values, row["step_id"], row["attempt_count"])
                conn.execute(sql.update_attempt(columns), params)
            return True, after

        return await self._write(work)

    async def _list_history(self, run_id: str) -> builtins.list[StepRow]:
        return [_step(row) for row in await self._fetch(self._sql.list_history, (run_id,))]

    async def _find_undispatched_steps(self, before_ms: int, limit: int) -> builtins.list[StepRow]:
        rows = await self._fetch(self._sql.undispatched_steps, (before_ms, limit))
        return [_step(row) for row in rows]

    async def _import_run(self, rows: ImportRows) -> bool:
        sql, run_id = self._sql, rows.run.run_id

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(sql.get_run, (run_id,)).fetchall():
                return False  # inside BEGIN IMMEDIATE: no one inserts it meanwhile
            conn.execute(sql.insert_run, _run_params(rows.run))
            try:
                conn.executemany(sql.insert_step, [_step_params(row) for row in rows.steps])
            except (
                sqlite3.IntegrityError
            ):  # a step id or (run_id, step_name) stored already: roll back
                raise ConflictError(
                    f"a step of run {run_id!r} is stored already (its id or its name)",
                    run_id=run_id,
                ) from None
            conn.executemany(sql.insert_attempt, [_step_params(row) for row in rows.history])
            conn.executemany(sql.put_state, [(run_id, *item) for item in rows.state.items()])
            return True

        return await self._write(work)

    # -- versions -------------------------------------------------------------------------

    async def _insert_version(self, row: VersionRow) -> None:
        params = (row.workflow_name, row.graph_hash, row.graph, row.source, row.status,
                  row.created_ms)  # fmt: skip
        await self._execute(self._sql.insert_version, params)

    async def _set_version_status(self, workflow_name: str, graph_hash: str, status: str) -> bool:
        params = (status, workflow_name, graph_hash)
        return await self._execute(self._sql.set_version_status, params) == 1

    async def _get_version(self, workflow_name: str, graph_hash: str) -> VersionRow | None:
        rows = await self._fetch(self._sql.get_version, (workflow_name, graph_hash))
        return VersionRow(*rows[0]) if rows else None

    # -- the run lock: a lease row per run ------------------------------------------------

    async def _lock_try_acquire(self, run_id: str, owner: str, lease_ms: int) -> int | None:
        sql = self._sql

        def work(conn: sqlite3.Connection) -> int | None:
            now = now_ms()
            rows = conn.execute(sql.lease, (run_id,)).fetchall()
            token = 0
            if rows:
                holder, expires_ms, token = rows[0]
                if holder is not None and expires_ms > now:
                    return None
            token = int(token) + 1
            conn.execute(sql.take_lease, (run_id, owner, now + lease_ms, token))
            return token

        return await self._write(work)

    async def _lock_renew(self, run_id: str, owner: str, lease_ms: int) -> bool:
        params = (now_ms() + lease_ms, run_id, owner)
        return await self._execute(self._sql.renew_lease, params) == 1

    async def _lock_release(self, run_id: str, owner: str) -> None:
        await self._execute(self._sql.release_lease, (run_id, owner))


def _run_params(row: RunRow) -> tuple[Any, ...]:
    return (row.run_id, row.workflow, row.status, row.spec, row.output, row.error,
            row.created_ms, row.updated_ms)  # fmt: skip
