"""The thread store in PostgreSQL: the ``thread_*`` tables of ``kode_<namespace>``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from kode_core import ConflictError
from kode_core.runs import StoredRun
from kode_core.threads import MessageRow, ThreadOptions, ThreadQuery, ThreadRow, ThreadStore

from .._backend import Connection, PgBackend
from .._options import PgOptions
from .schema import THREADS
from .sql import ConversationStatements, delete_runs_of_thread, load_thread_runs

#: Above every stored seq: "before nothing" reads to the end.
_NO_END = 2**63 - 1


class PgThreadStore(ThreadStore):
    """Threads in PostgreSQL. Appending locks the thread's row first, so one thread's
    writers are numbered one after another in every process; deleting a thread
    deletes its messages, runs, approvals and scores in the same transaction."""

    def __init__(self, backend: PgBackend, options: PgOptions, settings: ThreadOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, THREADS)
        self._st = ConversationStatements(options.namespace)

    def __repr__(self) -> str:
        return f"<PgThreadStore namespace={self.namespace!r} at {self._backend.address}>"

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.connection(self.namespace, THREADS)

    def _transaction(self) -> AbstractAsyncContextManager[Connection]:
        """One READ COMMITTED transaction (with ``SET LOCAL`` timeout, pipelined): every
        multi-statement read and write."""
        return self._backend.transaction(self.namespace, THREADS)

    async def _rows(self, statement: Any, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async with self._connection() as conn:
            cur = await conn.execute(statement, params)
            return await cur.fetchall()

    async def _insert_thread(self, row: ThreadRow) -> None:
        params = (row.id, row.resource_id, row.created_ms, row.updated_ms, row.body)
        if not await self._rows(self._st.insert_thread, params):
            raise ConflictError(f"thread {row.id!r} exists", thread_id=row.id)

    async def _load_thread(self, thread_id: str) -> ThreadRow | None:
        rows = await self._rows(self._st.load_thread, (thread_id,))
        return ThreadRow(*rows[0]) if rows else None

    async def _resource_threads(self, resource_id: str) -> builtins.list[ThreadRow]:
        return [
            ThreadRow(*row) for row in await self._rows(self._st.resource_threads, (resource_id,))
        ]

    async def _delete_thread(self, thread_id: str) -> bool:
        st = self._st
        async with self._transaction() as conn:
            cur = await conn.execute(st.delete_thread, (thread_id,))
            found = await cur.fetchone() is not None
            await conn.execute(st.delete_messages, (thread_id,))
            await conn.execute(st.delete_thread_memory, (thread_id,))
            await delete_runs_of_thread(conn, st, thread_id)
        return found

    async def _load_messages(
        self, thread_id: str, last_n: int | None, before: str | None
    ) -> builtins.list[str] | None:
        st = self._st
        if before is None:  # one statement: no transaction round trips
            rows = await self._rows(st.load_messages, (thread_id, _NO_END, last_n))
            return [body for (body,) in rows]
        async with self._transaction() as conn:
            cur = await conn.execute(st.message_seq, (thread_id, before, before))
            found = await cur.fetchone()
            if found is None:
                return None
            cur = await conn.execute(st.load_messages, (thread_id, found[0], last_n))
            return [body for (body,) in await cur.fetchall()]

    async def _append_messages(
        self, thread_id: str, rows: Sequence[MessageRow], updated_ms: int
    ) -> bool:
        st = self._st
        async with self._transaction() as conn:
            cur = await conn.execute(st.lock_thread, (updated_ms, thread_id))
            if await cur.fetchone() is None:
                return False
            cur = await conn.execute(st.last_seq, (thread_id,))
            [last] = await cur.fetchone() or (0,)
            # A repeated id is skipped by the unique index; its seq only leaves a gap.
            await conn.execute(
                st.insert_messages,
                (
                    thread_id,
                    [last + i for i in range(1, len(rows) + 1)],
                    [row.id for row in rows],
                    [row.created_ms for row in rows],
                    [row.body for row in rows],
                ),
            )
        return True

    async def _load_memory(self, scope: str, id: str) -> str | None:
        rows = await self._rows(self._st.load_memory, (scope, id))
        return rows[0][0] if rows else None

    async def _save_memory(self, scope: str, id: str, body: str, updated_ms: int) -> None:
        async with self._connection() as conn:
            await conn.execute(self._st.save_memory, (scope, id, updated_ms, body))

    async def _all_memory(self) -> builtins.list[tuple[str, str, str]]:
        rows = await self._rows(self._st.all_memory, ())
        return [(scope, id, body) for scope, id, body in rows]

    async def _list_threads(self, query: ThreadQuery) -> builtins.list[ThreadRow]:
        statement, params = self._st.list_threads(query)
        return [ThreadRow(*row) for row in await self._rows(statement, params)]

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        async with self._transaction() as conn:
            return await load_thread_runs(conn, self._st, thread_id)

    async def _agent_names(self) -> builtins.list[str]:
        return [name for (name,) in await self._rows(self._st.agent_names, ())]
