"""The run store in PostgreSQL: the ``run_*`` tables of ``kode_<namespace>``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from kode_core import ConflictError
from kode_core.runs import ApprovalRow, RunMerge, RunOptions, RunRow, RunStore, StoredRun

from .._backend import Connection, PgBackend
from .._options import PgOptions
from .._threads.schema import RUNS
from .._threads.sql import ConversationStatements, load_run, load_thread_runs


def _columns(approvals: Sequence[ApprovalRow]) -> tuple[list[object], ...]:
    return (
        [a.tool_call_id for a in approvals],
        [a.run_id for a in approvals],
        [a.position for a in approvals],
        [a.body for a in approvals],
        [a.decision for a in approvals],
        [a.resolved_ms for a in approvals],
    )


class PgRunStore(RunStore):
    """Runs in PostgreSQL. A claim is one conditional ``UPDATE`` of the approval's row:
    concurrent claimers queue on its row lock and, once the first commits, find the
    decision set and change nothing. ``update_run`` locks the run's row."""

    def __init__(self, backend: PgBackend, options: PgOptions, settings: RunOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, RUNS)
        self._st = ConversationStatements(options.namespace)

    def __repr__(self) -> str:
        return f"<PgRunStore namespace={self.namespace!r} at {self._backend.address}>"

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.connection(self.namespace, RUNS)

    def _transaction(self) -> AbstractAsyncContextManager[Connection]:
        """One READ COMMITTED transaction (with ``SET LOCAL`` timeout, pipelined): every
        multi-statement read and write."""
        return self._backend.transaction(self.namespace, RUNS)

    async def _add_approvals(self, conn: Connection, approvals: Sequence[ApprovalRow]) -> None:
        if not approvals:
            return
        cur = await conn.execute(self._st.insert_approvals, _columns(approvals))
        added = {tool_call_id for (tool_call_id,) in await cur.fetchall()}
        for approval in approvals:
            if approval.tool_call_id not in added:
                raise ConflictError(
                    f"tool call {approval.tool_call_id!r} is stored already",
                    tool_call_id=approval.tool_call_id,
                )

    async def _insert_run(self, row: RunRow, approvals: Sequence[ApprovalRow]) -> None:
        params = (
            row.run_id,
            row.thread_id,
            row.resource_id,
            row.agent_name,
            row.status,
            row.created_ms,
            row.updated_ms,
            row.body,
        )
        async with self._transaction() as conn:
            cur = await conn.execute(self._st.insert_run, params)
            if await cur.fetchone() is None:
                raise ConflictError(f"run {row.run_id!r} exists", run_id=row.run_id)
            await self._add_approvals(conn, approvals)

    async def _update_run(
        self, run_id: str, merge: RunMerge, approvals: Sequence[ApprovalRow] | None
    ) -> StoredRun | None:
        st = self._st
        async with self._transaction() as conn:
            cur = await conn.execute(st.lock_run, (run_id,))
            found = await cur.fetchone()
            if found is None:
                return None
            row = merge(found[0])
            if approvals is not None:
                ids = [a.tool_call_id for a in approvals]
                await conn.execute(st.drop_pending, (run_id, ids))
                await self._add_approvals(conn, approvals)
            await conn.execute(st.update_run, (row.status, row.updated_ms, row.body, run_id))
            return await load_run(conn, st, run_id)

    async def _load_run(self, run_id: str) -> StoredRun | None:
        async with self._transaction() as conn:
            return await load_run(conn, self._st, run_id)

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        async with self._transaction() as conn:
            return await load_thread_runs(conn, self._st, thread_id)

    async def _pending_run(self, tool_call_id: str) -> StoredRun | None:
        async with self._transaction() as conn:
            cur = await conn.execute(self._st.pending_run, (tool_call_id,))
            found = await cur.fetchone()
            return None if found is None else await load_run(conn, self._st, found[0])

    async def _claim_approval(self, tool_call_id: str, decision: str, resolved_ms: int) -> bool:
        async with self._connection() as conn:
            cur = await conn.execute(self._st.claim, (decision, resolved_ms, tool_call_id))
            return await cur.fetchone() is not None

    async def _append_score(self, run_id: str, created_ms: int, body: str) -> None:
        async with self._connection() as conn:
            await conn.execute(self._st.insert_score, (run_id, created_ms, body))

    async def _scores(self, run_id: str) -> builtins.list[str]:
        async with self._connection() as conn:
            cur = await conn.execute(self._st.scores, (run_id,))
            return [body for (body,) in await cur.fetchall()]
