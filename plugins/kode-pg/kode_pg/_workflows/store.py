"""The workflow store in PostgreSQL: one row per run, step, attempt, state key and version."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg.errors

from kode_core import ConflictError
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

from .._backend import Connection, PgBackend, rows_changed
from .._options import PgOptions
from .schema import WORKFLOWS
from .sql import id_digest, workflow_statements


def _step(values: Sequence[Any]) -> StepRow:
    return dict(zip(STEP_COLUMNS, values, strict=True))


def _step_params(row: StepRow) -> tuple[Any, ...]:
    return tuple(row[column] for column in STEP_COLUMNS)


class PgWorkflowStore(WorkflowStore):
    """Workflow state in the schema ``kode_<namespace>`` of a PostgreSQL database.

    ``(run_id, step_name)`` is a UNIQUE constraint, so of racing inserts the database
    refuses all but one. A claim or any step change locks the step row
    (``SELECT ... FOR UPDATE``) and updates it and its attempt row in one
    transaction, so concurrent claimers queue on the row and see the winner's
    status. A state key is one row, merged by an upsert. The run lock is a lease
    row per run, timed by the server's ``clock_timestamp()``.
    """

    def __init__(self, backend: PgBackend, options: PgOptions, settings: WorkflowOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, WORKFLOWS)
        self._sql = workflow_statements(options.namespace)

    def __repr__(self) -> str:
        return f"<PgWorkflowStore namespace={self.namespace!r} at {self._backend.address}>"

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.connection(self.namespace, WORKFLOWS)

    async def _rows(self, statement: Any, params: Any) -> builtins.list[tuple[Any, ...]]:
        async with self._connection() as conn:
            cur = await conn.execute(statement, params)
            return await cur.fetchall()

    async def _count(self, statement: Any, params: Any) -> int:
        async with self._connection() as conn:
            cur = await conn.execute(statement, params)
            return await rows_changed(cur)

    # -- runs ----------------------------------------------------------------------------

    async def _insert_run(self, row: RunRow) -> None:
        params = (row.run_id, row.workflow, row.status, row.spec, row.output, row.error,
                  row.created_ms, row.updated_ms)  # fmt: skip
        async with self._connection() as conn:
            # Fetched, not caught: in pipeline mode an error surfaces only at the sync.
            inserted = await (await conn.execute(self._sql.insert_run, params)).fetchone()
        if inserted is None:
            raise ConflictError(f"workflow run {row.run_id!r} exists", run_id=row.run_id)

    async def _get_run(self, run_id: str) -> RunRow | None:
        rows = await self._rows(self._sql.get_run, (run_id,))
        return RunRow(*rows[0]) if rows else None

    async def _update_run_status(
        self, run_id: str, status: str, output: str | None, error: str | None, updated_ms: int
    ) -> bool:
        params = (status, output, error, updated_ms, run_id)
        return await self._count(self._sql.update_run_status, params) == 1

    async def _get_state(self, run_id: str) -> dict[str, str]:
        return dict(await self._rows(self._sql.get_state, (run_id,)))

    async def _put_state(self, run_id: str, name: str, value: str) -> None:
        await self._count(self._sql.put_state, (run_id, name, id_digest(name), value))

    async def _delete_run(self, run_id: str) -> bool:
        [(count,)] = await self._rows(self._sql.delete_runs, {"ids": [run_id]})
        return bool(count)

    async def _prune(self, before_ms: int) -> int:
        async with self._connection() as conn, conn.transaction():
            cur = await conn.execute(self._sql.prunable_runs, (self._sql.finished, before_ms))
            ids = [run_id for (run_id,) in await cur.fetchall()]
            if not ids:
                return 0
            cur = await conn.execute(self._sql.delete_runs, {"ids": ids})
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _list_runs(
        self, workflow: str | None, status: str | None, limit: int, offset: int
    ) -> builtins.list[RunRow]:
        params = [value for value in (workflow, status) if value is not None]
        statement = self._sql.list_runs_where(workflow, status)
        return [RunRow(*row) for row in await self._rows(statement, (*params, limit, offset))]

    async def _distinct_workflows(self) -> builtins.list[str]:
        return [name for (name,) in await self._rows(self._sql.distinct_workflows, ())]

    async def _find_stalled_runs(self, before_ms: int, limit: int) -> builtins.list[RunRow]:
        rows = await self._rows(self._sql.stalled_runs, (before_ms, limit))
        return [RunRow(*row) for row in rows]

    # -- steps ----------------------------------------------------------------------------

    async def _insert_step(self, row: StepRow) -> None:
        params = _step_params(row)
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    key = id_digest(row["step_name"])
                    await conn.execute(self._sql.insert_step, (*params, key))
                    await conn.execute(self._sql.insert_attempt, params)
            except psycopg.errors.UniqueViolation:  # the engine's unique (run_id, step_name)
                raise ConflictError(
                    f"run {row['run_id']!r} already has a step {row['step_name']!r}",
                    run_id=row["run_id"],
                    step_name=row["step_name"],
                ) from None

    async def _import_run(self, rows: ImportRows) -> bool:
        sql, run = self._sql, rows.run
        params = (run.run_id, run.workflow, run.status, run.spec, run.output, run.error,
                  run.created_ms, run.updated_ms)  # fmt: skip
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    # Racing importers of one run queue on its primary key; the loser
                    # inserts nothing and stores nothing else.
                    cur = await conn.execute(sql.insert_run, params)
                    if await cur.fetchone() is None:
                        return False
                    async with conn.cursor() as many:
                        steps = [(*_step_params(row), id_digest(row["step_name"]))
                                 for row in rows.steps]  # fmt: skip
                        await many.executemany(sql.insert_step, steps)
                        history = [_step_params(row) for row in rows.history]
                        await many.executemany(sql.insert_attempt, history)
                        state = [(run.run_id, name, id_digest(name), value)
                                 for name, value in rows.state.items()]  # fmt: skip
                        await many.executemany(sql.put_state, state)
            except (
                psycopg.errors.UniqueViolation
            ):  # a step id or (run_id, step_name) stored already
                raise ConflictError(
                    f"a step of run {run.run_id!r} is stored already (its id or its name)",
                    run_id=run.run_id,
                ) from None
        return True

    async def _get_step(self, run_id: str, step_name: str) -> StepRow | None:
        rows = await self._rows(self._sql.get_step, (run_id, id_digest(step_name)))
        return _step(rows[0]) if rows else None

    async def _list_steps(self, run_id: str) -> builtins.list[StepRow]:
        return [_step(row) for row in await self._rows(self._sql.list_steps, (run_id,))]

    async def _update_step(
        self, match: StepMatch, updates: Sequence[StepUpdate]
    ) -> tuple[bool, StepRow] | None:
        sql = self._sql
        async with self._connection() as conn, conn.pipeline(), conn.transaction():
            # The row lock makes concurrent changes of one step queue; each sees the
            # status the one before it left. Pipelined: BEGIN and the locking read go in
            # one round trip, both updates and COMMIT in the next.
            if match.by_id:
                cur = await conn.execute(sql.lock_step_by_id, (match.step_id,))
            else:
                key = id_digest(str(match.step_name))
                cur = await conn.execute(sql.lock_step, (match.run_id, key))
            found = await cur.fetchone()
            if found is None:
                return None
            row = _step(found)
            update = pick_update(updates, row["status"])
            if update is None:
                return False, row
            after, new_attempt = apply_update(row, update)
            columns = list(update.changes)
            if new_attempt is not None:
                columns.append("attempt_count")
            values = [after[column] for column in columns]
            await conn.execute(sql.update_step(columns), (*values, row["step_id"]))
            if new_attempt is not None:
                await conn.execute(sql.insert_attempt, _step_params(new_attempt))
            else:
                params = (*values, row["step_id"], row["attempt_count"])
                await conn.execute(sql.update_attempt(columns), params)
        return True, after

    async def _list_history(self, run_id: str) -> builtins.list[StepRow]:
        return [_step(row) for row in await self._rows(self._sql.list_history, (run_id,))]

    async def _find_undispatched_steps(self, before_ms: int, limit: int) -> builtins.list[StepRow]:
        rows = await self._rows(self._sql.undispatched_steps, (before_ms, limit))
        return [_step(row) for row in rows]

    # -- versions -------------------------------------------------------------------------

    async def _insert_version(self, row: VersionRow) -> None:
        params = (row.workflow_name, row.graph_hash, row.graph, row.source, row.status,
                  row.created_ms, id_digest(row.graph_hash))  # fmt: skip
        await self._count(self._sql.insert_version, params)

    async def _set_version_status(self, workflow_name: str, graph_hash: str, status: str) -> bool:
        params = (status, workflow_name, id_digest(graph_hash))
        return await self._count(self._sql.set_version_status, params) == 1

    async def _get_version(self, workflow_name: str, graph_hash: str) -> VersionRow | None:
        rows = await self._rows(self._sql.get_version, (workflow_name, id_digest(graph_hash)))
        return VersionRow(*rows[0]) if rows else None

    # -- the run lock: a lease row per run, on the server's clock --------------------------

    async def _lock_try_acquire(self, run_id: str, owner: str, lease_ms: int) -> int | None:
        rows = await self._rows(self._sql.lock_acquire, {"r": run_id, "o": owner, "ms": lease_ms})
        return int(rows[0][0]) if rows else None

    async def _lock_renew(self, run_id: str, owner: str, lease_ms: int) -> bool:
        params = {"r": run_id, "o": owner, "ms": lease_ms}
        return await self._count(self._sql.lock_renew, params) == 1

    async def _lock_release(self, run_id: str, owner: str) -> None:
        await self._count(self._sql.lock_release, {"r": run_id, "o": owner})
