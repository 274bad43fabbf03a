"""The agent runtime store in PostgreSQL: one row per record, one locked row per agent."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from kode_core.agents import (
    AgentOptions,
    AgentStats,
    Doc,
    DocFamily,
    ExtendedAgentStore,
    InfoRow,
    MessageQuery,
    MessageRow,
    SessionQuery,
    StoredRowState,
    ToolCallQuery,
    ToolCallRow,
    event_conflict,
    plan_replace,
)
from kode_core.backend import prefix_upper_bound

from .._backend import Connection, PgBackend
from .._conflicts import TransactionConflictError, retry_conflicts
from .._options import PgOptions
from .._schema import schema_name
from .schema import AGENTS, DATA_TABLES
from .sql import agent_statements, key_digest, message_query, session_query, tool_call_query


def _message_columns(agent_id: str, rows: Sequence[MessageRow]) -> tuple[object, ...]:
    """The parameters of ``upsert_messages``: the agent id, then one array per column."""
    return (
        agent_id,
        [row.position for row in rows],
        [row.digest for row in rows],
        [row.role for row in rows],
        [json.dumps(list(row.content_types)) for row in rows],
        [row.created_ms for row in rows],
        [row.body for row in rows],
    )


class PgAgentStore(ExtendedAgentStore):
    """Agent runtime state in the schema ``kode_<namespace>`` of a PostgreSQL database.

    Every write is one transaction that first creates or row-locks the agent's
    row in ``agents``, so one agent's writers are serialised by the database (in
    every process) while different agents never wait for each other. A save of
    messages or tool calls reads the stored digests under that lock and writes
    only :func:`~kode_core.agents.plan_replace`'s changes, in two round trips. The lock
    is a lease row per agent id, timed by the server's ``clock_timestamp()``.
    """

    def __init__(self, backend: PgBackend, options: PgOptions, settings: AgentOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, AGENTS)
        self._sql = agent_statements(options.namespace)

    def __repr__(self) -> str:
        return f"<PgAgentStore namespace={self.namespace!r} at {self._backend.address}>"

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.connection(self.namespace, AGENTS)

    def _transaction(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.transaction(self.namespace, AGENTS)

    # -- messages and tool calls: atomic replace of what changed -----------------------

    _patches_messages = True

    @retry_conflicts
    async def _save_messages(
        self,
        agent_id: str,
        rows: Sequence[MessageRow],
        *,
        base: str | None,
        token: str | None,
        length: int,
    ) -> int | None:
        sql = self._sql
        tail = None  # the patch's delete of the dropped tail: its count is in after the commit
        async with self._transaction() as conn:
            # Round trip 1: lock the agent's row, then read what is stored under the lock.
            await conn.execute(sql.touch, (agent_id,))
            if base is None:
                cur = await conn.execute(sql.message_states, (agent_id,))
                existing = {
                    position: StoredRowState(digest, created_ms)
                    for position, digest, created_ms in await cur.fetchall()
                }
                plan = plan_replace(existing, rows)
                upserts, written = plan.upserts, plan.write_count
                # Round trip 2: only the changes, then commit.
                if plan.deletes:
                    await conn.execute(sql.delete_messages, (agent_id, plan.deletes))
            else:
                cur = await conn.execute(sql.message_token, (agent_id,))
                found = await cur.fetchone()
                if found is None or found[0] != base:
                    return None  # another store wrote the list since: the core replaces it
                # Round trip 2: the changed rows, the dropped tail, the token; commit.
                upserts = list(rows)
                tail = await conn.execute(sql.delete_messages_from, (agent_id, length))
                written = len(upserts)
            if upserts:
                await conn.execute(sql.upsert_messages, _message_columns(agent_id, upserts))
            if token != base:  # a save that changed nothing keeps the token
                await conn.execute(sql.set_message_token, (token, agent_id))
        # In the pipelined transaction a statement's row count is set once synced: the
        # commit has synced it, so this costs no round trip (rows_changed would).
        return written if tail is None else written + tail.rowcount

    async def _replace_messages(self, agent_id: str, rows: Sequence[MessageRow]) -> int:
        written = await self._save_messages(agent_id, rows, base=None, token=None, length=len(rows))
        return written or 0

    @retry_conflicts
    async def _load_messages(self, agent_id: str) -> builtins.list[str]:
        return await self._column(self._sql.load_messages, (agent_id,))

    @retry_conflicts
    async def _replace_tool_calls(self, agent_id: str, rows: Sequence[ToolCallRow]) -> int:
        async with self._transaction() as conn:
            await conn.execute(self._sql.touch, (agent_id,))
            cur = await conn.execute(self._sql.tool_call_states, (agent_id,))
            existing = {
                key: StoredRowState(digest, created_ms)
                for key, digest, created_ms in await cur.fetchall()
            }
            plan = plan_replace(existing, rows)
            if plan.deletes:
                gone = [key_digest(str(key)) for key in plan.deletes]
                await conn.execute(self._sql.delete_tool_calls, (agent_id, gone))
            if plan.upserts:
                up = plan.upserts
                await conn.execute(
                    self._sql.upsert_tool_calls,
                    (
                        agent_id,
                        [row.id for row in up],
                        [row.position for row in up],
                        [row.name for row in up],
                        [row.state for row in up],
                        [row.is_error for row in up],
                        [row.has_approval for row in up],
                        [row.created_ms for row in up],
                        [row.updated_ms for row in up],
                        [row.digest for row in up],
                        [row.body for row in up],
                        [key_digest(row.id) for row in up],
                    ),
                )
        return plan.write_count

    @retry_conflicts
    async def _load_tool_calls(self, agent_id: str) -> builtins.list[str]:
        return await self._column(self._sql.load_tool_calls, (agent_id,))

    # -- documents -----------------------------------------------------------------

    @retry_conflicts
    async def _put_doc(self, agent_id: str, family: DocFamily, doc: Doc) -> None:
        params = (agent_id, family.value, doc.key, doc.sort_ms, doc.body, key_digest(doc.key))
        async with self._transaction() as conn:
            await conn.execute(self._sql.touch, (agent_id,))
            await conn.execute(self._sql.put_doc, params)

    @retry_conflicts
    async def _replace_docs(self, agent_id: str, family: DocFamily, docs: Sequence[Doc]) -> None:
        async with self._transaction() as conn:
            await conn.execute(self._sql.touch, (agent_id,))
            await conn.execute(self._sql.clear_docs, (agent_id, family.value))
            if docs:
                await conn.execute(
                    self._sql.insert_docs,
                    (
                        agent_id,
                        family.value,
                        [doc.key for doc in docs],
                        [doc.sort_ms for doc in docs],
                        [doc.body for doc in docs],
                        [key_digest(doc.key) for doc in docs],
                    ),
                )

    @retry_conflicts
    async def _get_doc(self, agent_id: str, family: DocFamily, key: str) -> str | None:
        params = (agent_id, family.value, key_digest(key))
        return _text(await self._value(self._sql.get_doc, params))

    @retry_conflicts
    async def _list_docs(self, agent_id: str, family: DocFamily) -> builtins.list[str]:
        return await self._column(self._sql.list_docs, (agent_id, family.value))

    # -- events --------------------------------------------------------------------

    @retry_conflicts
    async def _append_event(self, agent_id: str, seq: int, channel: str, body: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(self._sql.touch, (agent_id,))
            cur = await conn.execute(self._sql.insert_event, (agent_id, seq, channel, body))
            if await cur.fetchone() is not None:
                return
            # The unique (agent_id, seq) kept the stored event: same body is a no-op.
            cur = await conn.execute(self._sql.event_body, (agent_id, seq))
            stored = await cur.fetchone()
            if stored is not None and stored[0] != body:
                raise event_conflict(agent_id, seq)

    @retry_conflicts
    async def _read_events(
        self, agent_id: str, after: int, channel: str | None, limit: int
    ) -> builtins.list[tuple[int, str]]:
        async with self._connection() as conn:
            if channel is None:
                cur = await conn.execute(self._sql.read_events, (agent_id, after, limit))
            else:
                params = (agent_id, channel, after, limit)
                cur = await conn.execute(self._sql.read_channel_events, params)
            return [(int(seq), body) for seq, body in await cur.fetchall()]

    # -- info and lifecycle ----------------------------------------------------------

    @retry_conflicts
    async def _save_info(self, row: InfoRow) -> None:
        params = (row.agent_id, row.template_id, row.created_ms, row.message_count, row.body)
        async with self._transaction() as conn:
            await conn.execute(self._sql.touch, (row.agent_id,))
            await conn.execute(self._sql.save_info, params)

    @retry_conflicts
    async def _load_info(self, agent_id: str) -> str | None:
        return _text(await self._value(self._sql.load_info, (agent_id,)))

    @retry_conflicts
    async def _exists(self, agent_id: str) -> bool:
        return bool(await self._value(self._sql.exists, (agent_id,)))

    @retry_conflicts
    async def _delete_agent(self, agent_id: str) -> None:
        # One transaction; the lease row in agent_locks stays, with its fencing counter.
        async with self._transaction() as conn:
            for statement in self._sql.delete_agent:
                await conn.execute(statement, (agent_id,))

    @retry_conflicts
    async def _list_agents(self, prefix: str | None) -> builtins.list[str]:
        if prefix is None:
            return await self._column(self._sql.list_agents, ())
        bound = prefix_upper_bound(prefix)
        if bound is None:
            return await self._column(self._sql.list_agents_from, (prefix, prefix))
        return await self._column(self._sql.list_agents_between, (prefix, bound, prefix))

    # -- queries and statistics --------------------------------------------------------

    @retry_conflicts
    async def _query_sessions(self, query: SessionQuery) -> builtins.list[str]:
        statement, params = session_query(self._sql.schema, query)
        return await self._column(statement, params)

    @retry_conflicts
    async def _query_messages(
        self, query: MessageQuery
    ) -> builtins.list[tuple[str, int, str, int]]:
        statement, params = message_query(self._sql.schema, query)
        async with self._connection() as conn:
            cur = await conn.execute(statement, params)
            rows = await cur.fetchall()
        return [(agent, int(pos), body, int(created)) for agent, pos, body, created in rows]

    @retry_conflicts
    async def _query_tool_calls(self, query: ToolCallQuery) -> builtins.list[tuple[str, str]]:
        statement, params = tool_call_query(self._sql.schema, query)
        async with self._connection() as conn:
            cur = await conn.execute(statement, params)
            return [(agent_id, body) for agent_id, body in await cur.fetchall()]

    @retry_conflicts
    async def _stats(self, agent_id: str) -> AgentStats:
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.stats, {"a": agent_id})
            row = await cur.fetchone()
        assert row is not None  # scalar subqueries always yield one row
        messages, calls, snapshots, by_name, by_state = row
        return AgentStats(
            agent_id,
            total_messages=int(messages),
            total_tool_calls=int(calls),
            total_snapshots=int(snapshots),
            tool_calls_by_name={name: int(n) for name, n in by_name.items()},
            tool_calls_by_state={state: int(n) for state, n in by_state.items()},
        )

    # -- health, size, lock, fork --------------------------------------------------------

    async def _ping(self) -> None:
        await self._backend.ping()

    @retry_conflicts
    async def _storage_bytes(self) -> int | None:
        # Heap, indexes and TOAST of this namespace's agent data tables, from the catalog.
        async with self._connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint"
                " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind = 'r'",
                (schema_name(self.namespace), list(DATA_TABLES)),
            )
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def _lock_try_acquire(self, agent_id: str, owner: str, lease_ms: int) -> int | None:
        try:
            async with self._transaction() as conn:
                cur = await conn.execute(
                    self._sql.lock_acquire, {"a": agent_id, "o": owner, "ms": lease_ms}
                )
            row = await cur.fetchone()
        except TransactionConflictError:
            return None  # lost a race to another acquirer: not acquired yet
        return None if row is None else int(row[0])

    @retry_conflicts
    async def _lock_renew(self, agent_id: str, owner: str, lease_ms: int) -> bool:
        async with self._transaction() as conn:
            cur = await conn.execute(
                self._sql.lock_renew, {"a": agent_id, "o": owner, "ms": lease_ms}
            )
        return cur.rowcount == 1

    @retry_conflicts
    async def _lock_release(self, agent_id: str, owner: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(self._sql.lock_release, {"a": agent_id, "o": owner})

    @retry_conflicts
    async def _fork(self, source: str, targets: Sequence[InfoRow]) -> None:
        ids = [target.agent_id for target in targets]
        async with self._transaction() as conn:
            await conn.execute(self._sql.hold_source, (source,))
            await conn.execute(self._sql.touch_many, (ids,))
            for statement in self._sql.fork_copies:
                await conn.execute(statement, (ids, source))
            await conn.execute(
                self._sql.fork_infos,
                (
                    ids,
                    [target.template_id for target in targets],
                    [target.created_ms for target in targets],
                    [target.message_count for target in targets],
                    [target.body for target in targets],
                ),
            )

    # -- helpers -----------------------------------------------------------------------

    async def _column(self, statement: Any, params: Any) -> builtins.list[Any]:
        async with self._connection() as conn:
            cur = await conn.execute(statement, params)
            return [value for (value,) in await cur.fetchall()]

    async def _value(self, statement: Any, params: Any) -> Any:
        async with self._connection() as conn:
            cur = await conn.execute(statement, params)
            row = await cur.fetchone()
        return None if row is None else row[0]


def _text(value: object) -> str | None:
    return None if value is None else str(value)
