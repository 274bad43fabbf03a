"""The agent runtime store in SQLite: one namespace's ``<namespace>__agent_*`` tables."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

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
from kode_core.backend import BackendOptions, now_ms, prefix_upper_bound

from .._backend import SqliteBackend
from .schema import AGENTS, AgentTables
from .sql import AgentStatements, message_query, session_query, tool_call_query

_T = TypeVar("_T")
_Row = TypeVar("_Row", MessageRow, ToolCallRow)
Work = Callable[[sqlite3.Connection], _T]


@contextmanager
def _read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: every statement inside sees the same committed state."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        with suppress(sqlite3.Error):
            conn.execute("COMMIT")


def _message_params(agent_id: str, row: MessageRow) -> tuple[object, ...]:
    types = json.dumps(list(row.content_types))
    return (agent_id, row.position, row.digest, row.created_ms, row.role, types, row.body)


def _tool_call_params(agent_id: str, row: ToolCallRow) -> tuple[object, ...]:
    return (
        agent_id,
        row.id,
        row.position,
        row.name,
        row.state,
        int(row.is_error),
        int(row.has_approval),
        row.created_ms,
        row.updated_ms,
        row.digest,
        row.body,
    )


#: The statements (names in AgentStatements) a replace reads states, upserts and deletes with.
_MESSAGES = ("message_states", "upsert_message", "delete_message")
_TOOL_CALLS = ("tool_call_states", "upsert_tool_call", "delete_tool_call")


class SqliteAgentStore(ExtendedAgentStore):
    """Agent runtime state in one namespace's tables of a SQLite file.

    Every write is one ``BEGIN IMMEDIATE`` transaction: SQLite's file lock admits
    one writer at a time across every process using the file, so a replace reads
    the stored digests and writes only what changed with no other writer between.
    The lock is a lease row per agent updated in such a transaction, timed by this
    machine's clock (every process sharing the file runs on one machine).
    """

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: AgentOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, AGENTS)
        self._tables = AgentTables.for_namespace(options.namespace)
        self._sql = AgentStatements.for_tables(self._tables)

    def __repr__(self) -> str:
        return f"<SqliteAgentStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Work[_T]) -> _T:
        return await self._backend.write(self.namespace, AGENTS, work)

    async def _read(self, work: Work[_T]) -> _T:
        return await self._backend.read(self.namespace, AGENTS, work)

    async def _fetch_all(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        def work(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        return await self._read(work)

    async def _bodies(self, sql: str, params: Sequence[object]) -> builtins.list[str]:
        return [body for (body,) in await self._fetch_all(sql, params)]

    def _mark(self, conn: sqlite3.Connection, agent_id: str) -> None:
        conn.execute(self._sql.mark_agent, (agent_id,))

    # -- runtime state ----------------------------------------------------------------

    _patches_messages = True

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

        def work(conn: sqlite3.Connection) -> int | None:
            if base is None:
                written = self._apply_replace(conn, agent_id, rows, _MESSAGES, _message_params)
            else:
                found = conn.execute(sql.message_token, (agent_id,)).fetchone()
                if found is None or found[0] != base:
                    return None  # another store wrote the list since: the core replaces it
                conn.executemany(sql.upsert_message, [_message_params(agent_id, r) for r in rows])
                cursor = conn.execute(sql.delete_messages_from, (agent_id, length))
                written = len(rows) + cursor.rowcount
            self._mark(conn, agent_id)
            if token != base:  # a save that changed nothing keeps the token
                conn.execute(sql.set_message_token, (token, agent_id))
            return written

        return await self._write(work)

    async def _replace_messages(self, agent_id: str, rows: Sequence[MessageRow]) -> int:
        return (
            await self._save_messages(agent_id, rows, base=None, token=None, length=len(rows)) or 0
        )

    async def _load_messages(self, agent_id: str) -> builtins.list[str]:
        return await self._bodies(self._sql.load_messages, (agent_id,))

    async def _replace_tool_calls(self, agent_id: str, rows: Sequence[ToolCallRow]) -> int:
        return await self._replace(agent_id, rows, _TOOL_CALLS, _tool_call_params)

    async def _replace(
        self,
        agent_id: str,
        rows: Sequence[_Row],
        statements: tuple[str, str, str],
        params: Callable[[str, _Row], tuple[object, ...]],
    ) -> int:
        def work(conn: sqlite3.Connection) -> int:
            written = self._apply_replace(conn, agent_id, rows, statements, params)
            self._mark(conn, agent_id)
            return written

        return await self._write(work)

    def _apply_replace(
        self,
        conn: sqlite3.Connection,
        agent_id: str,
        rows: Sequence[_Row],
        statements: tuple[str, str, str],
        params: Callable[[str, _Row], tuple[object, ...]],
    ) -> int:
        """Apply :func:`~kode_core.agents.plan_replace` in the open transaction: read the
        stored ``(key, digest, created_ms)``, write only the plan's upserts and deletes."""
        states, upsert, delete = (getattr(self._sql, name) for name in statements)
        existing = {
            key: StoredRowState(digest, created_ms)
            for key, digest, created_ms in conn.execute(states, (agent_id,)).fetchall()
        }
        plan = plan_replace(existing, rows)
        conn.executemany(upsert, [params(agent_id, row) for row in plan.upserts])
        conn.executemany(delete, [(agent_id, key) for key in plan.deletes])
        return plan.write_count

    async def _load_tool_calls(self, agent_id: str) -> builtins.list[str]:
        return await self._bodies(self._sql.load_tool_calls, (agent_id,))

    # -- documents ----------------------------------------------------------------------

    async def _put_doc(self, agent_id: str, family: DocFamily, doc: Doc) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                self._sql.upsert_doc, (agent_id, family.value, doc.key, doc.sort_ms, doc.body)
            )
            self._mark(conn, agent_id)

        await self._write(work)

    async def _replace_docs(self, agent_id: str, family: DocFamily, docs: Sequence[Doc]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(self._sql.delete_docs, (agent_id, family.value))
            conn.executemany(
                self._sql.upsert_doc,
                [(agent_id, family.value, doc.key, doc.sort_ms, doc.body) for doc in docs],
            )
            self._mark(conn, agent_id)

        await self._write(work)

    async def _get_doc(self, agent_id: str, family: DocFamily, key: str) -> str | None:
        bodies = await self._bodies(self._sql.get_doc, (agent_id, family.value, key))
        return bodies[0] if bodies else None

    async def _list_docs(self, agent_id: str, family: DocFamily) -> builtins.list[str]:
        return await self._bodies(self._sql.list_docs, (agent_id, family.value))

    # -- events -------------------------------------------------------------------------

    async def _append_event(self, agent_id: str, seq: int, channel: str, body: str) -> None:
        sql = self._sql

        def work(conn: sqlite3.Connection) -> None:
            # The primary key (agent_id, seq) decides; a stored event is compared after.
            if conn.execute(sql.insert_event, (agent_id, seq, channel, body)).rowcount == 1:
                self._mark(conn, agent_id)
                return
            [(stored,)] = conn.execute(sql.event_body, (agent_id, seq)).fetchall()
            if stored != body:
                raise event_conflict(agent_id, seq)

        await self._write(work)

    async def _read_events(
        self, agent_id: str, after: int, channel: str | None, limit: int
    ) -> builtins.list[tuple[int, str]]:
        if channel is None:
            rows = await self._fetch_all(self._sql.read_events, (agent_id, after, limit))
        else:
            params = (agent_id, channel, after, limit)
            rows = await self._fetch_all(self._sql.read_channel_events, params)
        return [(int(seq), body) for seq, body in rows]

    # -- info and lifecycle -------------------------------------------------------------

    async def _save_info(self, row: InfoRow) -> None:
        def work(conn: sqlite3.Connection) -> None:
            self._upsert_info(conn, row)

        await self._write(work)

    def _upsert_info(self, conn: sqlite3.Connection, row: InfoRow) -> None:
        params = (row.agent_id, row.template_id, row.created_ms, row.message_count, row.body)
        conn.execute(self._sql.upsert_info, params)
        self._mark(conn, row.agent_id)

    async def _load_info(self, agent_id: str) -> str | None:
        bodies = await self._bodies(self._sql.load_info, (agent_id,))
        return bodies[0] if bodies else None

    async def _exists(self, agent_id: str) -> bool:
        return bool(await self._fetch_all(self._sql.exists, (agent_id,)))

    async def _delete_agent(self, agent_id: str) -> None:
        statements = self._sql.delete_agent()

        def work(conn: sqlite3.Connection) -> None:
            for statement in statements:
                conn.execute(statement, (agent_id,))

        await self._write(work)

    async def _list_agents(self, prefix: str | None) -> builtins.list[str]:
        start = prefix or ""
        end = prefix_upper_bound(start)
        params = (start,) if end is None else (start, end)
        rows = await self._fetch_all(self._sql.list_agents(end is not None), params)
        return [agent_id for (agent_id,) in rows]

    # -- queries and statistics ---------------------------------------------------------

    async def _query_sessions(self, query: SessionQuery) -> builtins.list[str]:
        return await self._bodies(*session_query(self._tables, query))

    async def _query_messages(
        self, query: MessageQuery
    ) -> builtins.list[tuple[str, int, str, int]]:
        rows = await self._fetch_all(*message_query(self._tables, query))
        return [(agent_id, int(pos), body, int(ms)) for agent_id, pos, body, ms in rows]

    async def _query_tool_calls(self, query: ToolCallQuery) -> builtins.list[tuple[str, str]]:
        rows = await self._fetch_all(*tool_call_query(self._tables, query))
        return [(agent_id, body) for agent_id, body in rows]

    async def _stats(self, agent_id: str) -> AgentStats:
        t = self._tables

        def work(conn: sqlite3.Connection) -> AgentStats:
            with _read_snapshot(conn):
                [(messages,)] = conn.execute(
                    f"SELECT count(*) FROM {t.messages} WHERE agent_id = ?", (agent_id,)
                ).fetchall()
                [(snapshots,)] = conn.execute(
                    f"SELECT count(*) FROM {t.docs} WHERE agent_id = ? AND family = ?",
                    (agent_id, DocFamily.SNAPSHOTS.value),
                ).fetchall()
                by_name = conn.execute(
                    f"SELECT name, count(*) FROM {t.tool_calls} WHERE agent_id = ? GROUP BY name",
                    (agent_id,),
                ).fetchall()
                by_state = conn.execute(
                    f"""SELECT state, count(*) FROM {t.tool_calls} WHERE agent_id = ?
                        GROUP BY state""",
                    (agent_id,),
                ).fetchall()
            return AgentStats(
                agent_id,
                total_messages=int(messages),
                total_tool_calls=sum(int(count) for _, count in by_name),
                total_snapshots=int(snapshots),
                tool_calls_by_name={name: int(count) for name, count in by_name},
                tool_calls_by_state={state: int(count) for state, count in by_state},
            )

        return await self._read(work)

    # -- health, metrics ----------------------------------------------------------------

    async def _ping(self) -> None:
        def work(conn: sqlite3.Connection) -> None:
            # Reads the file's schema page: the file is there and readable.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()

        await self._backend.read_unchecked(work)

    async def _storage_bytes(self) -> int | None:
        tables = self._tables

        def work(conn: sqlite3.Connection) -> int:
            names = tables.storage_names(conn)
            try:
                # dbstat (compiled into most builds): the pages of exactly this
                # namespace's agent tables and indexes.
                total = 0
                for name in names:
                    [(size,)] = conn.execute(
                        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?", (name,)
                    ).fetchall()
                    total += int(size)
                return total
            except sqlite3.OperationalError:
                # No dbstat in this build: the whole file's size (page_count * page_size),
                # an upper bound that also counts other namespaces and the session tables.
                [(pages,)] = conn.execute("PRAGMA page_count").fetchall()
                [(page_size,)] = conn.execute("PRAGMA page_size").fetchall()
                return int(pages) * int(page_size)

        return await self._read(work)

    # -- the lock: a lease row per agent ------------------------------------------------

    async def _lock_try_acquire(self, agent_id: str, owner: str, lease_ms: int) -> int | None:
        sql = self._sql

        def work(conn: sqlite3.Connection) -> int | None:
            # Inside BEGIN IMMEDIATE: no other process reads or writes the lease between.
            now = now_ms()
            rows = conn.execute(sql.lease, (agent_id,)).fetchall()
            token = 0
            if rows:
                holder, expires_ms, token = rows[0]
                if holder is not None and expires_ms > now:
                    return None
            token = int(token) + 1
            conn.execute(sql.take_lease, (agent_id, owner, now + lease_ms, token))
            return token

        return await self._write(work)

    async def _lock_renew(self, agent_id: str, owner: str, lease_ms: int) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            params = (now_ms() + lease_ms, agent_id, owner)
            return conn.execute(self._sql.renew_lease, params).rowcount == 1

        return await self._write(work)

    async def _lock_release(self, agent_id: str, owner: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(self._sql.release_lease, (agent_id, owner))

        await self._write(work)

    # -- fork ---------------------------------------------------------------------------

    async def _fork(self, source: str, targets: Sequence[InfoRow]) -> None:
        sql = self._sql
        clear = sql.delete_agent()

        def work(conn: sqlite3.Connection) -> None:
            for target in targets:
                for statement in clear:  # a fork starts from nothing but the source's data
                    conn.execute(statement, (target.agent_id,))
                for statement in sql.fork_copies:
                    conn.execute(statement, (target.agent_id, source))
                self._upsert_info(conn, target)

        await self._write(work)
