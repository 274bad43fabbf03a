"""The SQL of the ``pg`` thread and run stores: statements per namespace, shared reads.

Values are always parameters; the only variable SQL is the console listing's
``WHERE``, assembled from fixed fragments.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from psycopg import sql

from kode_core.runs import ApprovalRow, StoredRun
from kode_core.threads import ThreadQuery

from .._backend import Connection
from .._schema import schema_sql

if TYPE_CHECKING:
    from typing_extensions import LiteralString

THREAD_COLUMNS = "id, resource_id, created_ms, updated_ms, body"
_APPROVAL_COLUMNS = "tool_call_id, run_id, position, body, decision, resolved_ms"


class ConversationStatements:
    """The composed statements of one namespace's thread and run tables."""

    def __init__(self, namespace: str) -> None:
        schema = schema_sql(namespace)

        def q(text: LiteralString) -> sql.Composed:
            return sql.SQL(text).format(s=schema)

        self.q = q
        # -- threads
        self.insert_thread = q(
            "INSERT INTO {s}.thread_threads (id, resource_id, created_ms, updated_ms, body)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING 1"
        )
        self.load_thread = q(
            "SELECT id, resource_id, created_ms, updated_ms, body"
            " FROM {s}.thread_threads WHERE id = %s"
        )
        self.resource_threads = q(
            "SELECT id, resource_id, created_ms, updated_ms, body FROM {s}.thread_threads"
            " WHERE resource_id = %s ORDER BY updated_ms DESC, id DESC"
        )
        self.delete_thread = q("DELETE FROM {s}.thread_threads WHERE id = %s RETURNING 1")
        self.delete_messages = q("DELETE FROM {s}.thread_messages WHERE thread_id = %s")
        self.delete_thread_memory = q(
            "DELETE FROM {s}.thread_memory WHERE scope = 'thread' AND id = %s"
        )
        # -- messages: the thread row's lock serialises one thread's appenders
        self.lock_thread = q(
            "UPDATE {s}.thread_threads SET updated_ms = GREATEST(updated_ms, %s)"
            " WHERE id = %s RETURNING 1"
        )
        self.last_seq = q(
            "SELECT COALESCE(MAX(seq), 0) FROM {s}.thread_messages WHERE thread_id = %s"
        )
        self.insert_messages = q(
            "INSERT INTO {s}.thread_messages (thread_id, seq, id, created_ms, body)"
            " SELECT %s, t.seq, t.id, t.created_ms, t.body"
            " FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[])"
            " AS t(seq, id, created_ms, body)"
            " ON CONFLICT (thread_id, md5(id)) DO NOTHING"
        )
        self.message_seq = q(
            "SELECT seq FROM {s}.thread_messages WHERE thread_id = %s AND md5(id) = md5(%s)"
            " AND id = %s"
        )
        self.load_messages = q(
            "SELECT body FROM (SELECT seq, body FROM {s}.thread_messages"
            " WHERE thread_id = %s AND seq < %s ORDER BY seq DESC LIMIT %s) AS page"
            " ORDER BY seq"
        )
        # -- working memory
        self.load_memory = q("SELECT body FROM {s}.thread_memory WHERE scope = %s AND id = %s")
        self.save_memory = q(
            "INSERT INTO {s}.thread_memory (scope, id, updated_ms, body) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (scope, id) DO UPDATE SET updated_ms = EXCLUDED.updated_ms,"
            " body = EXCLUDED.body"
        )
        self.all_memory = q("SELECT scope, id, body FROM {s}.thread_memory ORDER BY scope, id")
        # -- runs
        self.insert_run = q(
            "INSERT INTO {s}.run_runs (run_id, thread_id, resource_id, agent_name, status,"
            " created_ms, updated_ms, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (run_id) DO NOTHING RETURNING 1"
        )
        self.insert_approvals = q(
            "INSERT INTO {s}.run_approvals"
            " (tool_call_id, run_id, position, body, decision, resolved_ms)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::integer[], %s::text[],"
            " %s::text[], %s::bigint[])"
            " ON CONFLICT (tool_call_id) DO NOTHING RETURNING tool_call_id"
        )
        self.lock_run = q("SELECT body FROM {s}.run_runs WHERE run_id = %s FOR UPDATE")
        self.load_run = q("SELECT body FROM {s}.run_runs WHERE run_id = %s")
        self.update_run = q(
            "UPDATE {s}.run_runs SET status = %s, updated_ms = %s, body = %s WHERE run_id = %s"
        )
        self.drop_pending = q(
            "DELETE FROM {s}.run_approvals WHERE run_id = %s"
            " AND (decision IS NULL OR tool_call_id = ANY(%s::text[]))"
        )
        self.run_approvals = q(
            "SELECT tool_call_id, run_id, position, body, decision, resolved_ms"
            " FROM {s}.run_approvals WHERE run_id = %s"
        )
        self.thread_runs = q(
            "SELECT run_id, body FROM {s}.run_runs WHERE thread_id = %s"
            " ORDER BY created_ms DESC, run_id DESC"
        )
        self.thread_approvals = q(
            "SELECT a.tool_call_id, a.run_id, a.position, a.body, a.decision, a.resolved_ms"
            " FROM {s}.run_approvals a JOIN {s}.run_runs r ON r.run_id = a.run_id"
            " WHERE r.thread_id = %s"
        )
        self.pending_run = q(
            "SELECT run_id FROM {s}.run_approvals WHERE tool_call_id = %s AND decision IS NULL"
        )
        self.claim = q(
            "UPDATE {s}.run_approvals SET decision = %s, resolved_ms = %s"
            " WHERE tool_call_id = %s AND decision IS NULL RETURNING 1"
        )
        self.delete_thread_scores = q(
            "DELETE FROM {s}.run_scores WHERE run_id IN"
            " (SELECT run_id FROM {s}.run_runs WHERE thread_id = %s)"
        )
        self.delete_thread_approvals = q(
            "DELETE FROM {s}.run_approvals WHERE run_id IN"
            " (SELECT run_id FROM {s}.run_runs WHERE thread_id = %s)"
        )
        self.delete_thread_runs = q("DELETE FROM {s}.run_runs WHERE thread_id = %s")
        self.insert_score = q(
            "INSERT INTO {s}.run_scores (run_id, created_ms, body) VALUES (%s, %s, %s)"
        )
        self.scores = q("SELECT body FROM {s}.run_scores WHERE run_id = %s ORDER BY id")
        self.agent_names = q("SELECT DISTINCT agent_name FROM {s}.run_runs ORDER BY 1")

    def list_threads(self, query: ThreadQuery) -> tuple[sql.Composed, list[Any]]:
        """The console's listing as one statement: every filter before LIMIT/OFFSET."""
        where: list[sql.Composable] = []
        params: list[Any] = []
        if query.resource_id is not None:
            where.append(sql.SQL("th.resource_id = %s"))
            params.append(query.resource_id)
        if query.owners is not None:
            one = sql.SQL("(th.resource_id = %s OR (th.resource_id >= %s AND th.resource_id < %s))")
            where.append(sql.SQL("({})").format(sql.SQL(" OR ").join([one] * len(query.owners))))
            for owner in query.owners:
                params += [owner.exact, owner.low, owner.high]
        if query.agent_name is not None:
            where.append(
                self.q(
                    "EXISTS (SELECT 1 FROM {s}.run_runs r"
                    " WHERE r.thread_id = th.id AND r.agent_name = %s)"
                )
            )
            params.append(query.agent_name)
        condition = (
            sql.SQL("WHERE {}").format(sql.SQL(" AND ").join(where)) if where else sql.SQL("")
        )
        statement = self.q(
            "SELECT th.id, th.resource_id, th.created_ms, th.updated_ms, th.body"
            " FROM {s}.thread_threads th "
        ) + sql.Composed(
            [condition, sql.SQL(" ORDER BY th.updated_ms DESC, th.id DESC LIMIT %s OFFSET %s")]
        )
        return statement, [*params, query.limit, query.offset]


def _approval_rows(rows: list[tuple[Any, ...]]) -> dict[str, list[ApprovalRow]]:
    by_run: dict[str, list[ApprovalRow]] = defaultdict(list)
    for row in rows:
        by_run[row[1]].append(ApprovalRow(*row))
    return by_run


async def load_run(conn: Connection, st: ConversationStatements, run_id: str) -> StoredRun | None:
    """The run's body and approval rows (call inside a transaction for one snapshot)."""
    cur = await conn.execute(st.load_run, (run_id,))
    found = await cur.fetchone()
    if found is None:
        return None
    cur = await conn.execute(st.run_approvals, (run_id,))
    return StoredRun(found[0], _approval_rows(await cur.fetchall()).get(run_id, []))


async def load_thread_runs(
    conn: Connection, st: ConversationStatements, thread_id: str
) -> list[StoredRun]:
    """The thread's runs, newest first (call inside a transaction for one snapshot)."""
    cur = await conn.execute(st.thread_runs, (thread_id,))
    runs = await cur.fetchall()
    cur = await conn.execute(st.thread_approvals, (thread_id,))
    by_run = _approval_rows(await cur.fetchall())
    return [StoredRun(body, by_run.get(run_id, [])) for run_id, body in runs]


async def delete_runs_of_thread(
    conn: Connection, st: ConversationStatements, thread_id: str
) -> None:
    """Delete the thread's scores, approvals and runs (inside the caller's transaction)."""
    await conn.execute(st.delete_thread_scores, (thread_id,))
    await conn.execute(st.delete_thread_approvals, (thread_id,))
    await conn.execute(st.delete_thread_runs, (thread_id,))
