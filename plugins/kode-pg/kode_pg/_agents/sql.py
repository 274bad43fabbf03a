"""The SQL of the ``pg`` agent store: statements per namespace, and the query builders.

Nothing here pastes user text into SQL: values are parameters, and the only
variable SQL (sort columns and direction) comes from fixed tables keyed by the
sort fields the core already checked against its lists.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING, Any

from psycopg import sql

from kode_core.agents import MessageQuery, SessionQuery, ToolCallQuery

from .._schema import schema_sql

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_Query = SessionQuery | MessageQuery | ToolCallQuery


class AgentStatements:
    """The composed statements of one namespace's agent tables (schema names quoted)."""

    def __init__(self, namespace: str) -> None:
        schema = schema_sql(namespace)

        def q(text: LiteralString) -> sql.Composed:
            return sql.SQL(text).format(s=schema)

        self.schema = schema
        # Creates the agent's row, or locks it (FOR NO KEY UPDATE strength, nothing is
        # written: the WHERE is false). Every write takes it first, so one agent's
        # writers are serialised in every process, and delete waits for them.
        self.touch = q(
            "INSERT INTO {s}.agents (agent_id) VALUES (%s)"
            " ON CONFLICT (agent_id) DO UPDATE SET touched = false WHERE false"
        )
        self.touch_many = q(
            "INSERT INTO {s}.agents (agent_id) SELECT unnest(%s::text[])"
            " ON CONFLICT (agent_id) DO NOTHING"
        )
        # FOR SHARE conflicts with the touch lock: a fork copies a still picture.
        self.hold_source = q("SELECT 1 FROM {s}.agents WHERE agent_id = %s FOR SHARE")
        self.exists = q("SELECT EXISTS (SELECT 1 FROM {s}.agents WHERE agent_id = %s)")

        self.message_states = q(
            "SELECT position, digest, created_ms FROM {s}.agent_messages WHERE agent_id = %s"
        )
        self.upsert_messages = q(
            "INSERT INTO {s}.agent_messages"
            " (agent_id, position, digest, role, content_types, created_ms, body)"
            " SELECT %s, t.position, t.digest, t.role, t.content_types::jsonb, t.created_ms,"
            " t.body FROM unnest(%s::integer[], %s::text[], %s::text[], %s::text[],"
            " %s::bigint[], %s::text[]) AS t(position, digest, role, content_types,"
            " created_ms, body)"
            " ON CONFLICT (agent_id, position) DO UPDATE SET digest = EXCLUDED.digest,"
            " role = EXCLUDED.role, content_types = EXCLUDED.content_types,"
            " created_ms = EXCLUDED.created_ms, body = EXCLUDED.body"
        )
        self.delete_messages = q(
            "DELETE FROM {s}.agent_messages WHERE agent_id = %s AND position = ANY(%s::integer[])"
        )
        self.message_token = q("SELECT messages_token FROM {s}.agents WHERE agent_id = %s")
        self.set_message_token = q("UPDATE {s}.agents SET messages_token = %s WHERE agent_id = %s")
        self.delete_messages_from = q(
            "DELETE FROM {s}.agent_messages WHERE agent_id = %s AND position >= %s"
        )
        self.load_messages = q(
            "SELECT body FROM {s}.agent_messages WHERE agent_id = %s ORDER BY position"
        )

        self.tool_call_states = q(
            "SELECT id, digest, created_ms FROM {s}.agent_tool_calls WHERE agent_id = %s"
        )
        self.upsert_tool_calls = q(
            "INSERT INTO {s}.agent_tool_calls (agent_id, id, position, name, state, is_error,"
            " has_approval, created_ms, updated_ms, digest, body, id_digest)"
            " SELECT %s, t.* FROM unnest(%s::text[], %s::integer[], %s::text[], %s::text[],"
            " %s::boolean[], %s::boolean[], %s::bigint[], %s::bigint[], %s::text[],"
            " %s::text[], %s::bytea[]) AS t"
            " ON CONFLICT (agent_id, id_digest) DO UPDATE SET position = EXCLUDED.position,"
            " name = EXCLUDED.name, state = EXCLUDED.state, is_error = EXCLUDED.is_error,"
            " has_approval = EXCLUDED.has_approval, created_ms = EXCLUDED.created_ms,"
            " updated_ms = EXCLUDED.updated_ms, digest = EXCLUDED.digest, body = EXCLUDED.body"
        )
        self.delete_tool_calls = q(
            "DELETE FROM {s}.agent_tool_calls WHERE agent_id = %s AND id_digest = ANY(%s::bytea[])"
        )
        self.load_tool_calls = q(
            "SELECT body FROM {s}.agent_tool_calls WHERE agent_id = %s ORDER BY position"
        )

        self.put_doc = q(
            "INSERT INTO {s}.agent_docs (agent_id, family, key, sort_ms, body, key_digest)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (agent_id, family, key_digest)"
            " DO UPDATE SET sort_ms = EXCLUDED.sort_ms, body = EXCLUDED.body"
        )
        self.insert_docs = q(
            "INSERT INTO {s}.agent_docs (agent_id, family, key, sort_ms, body, key_digest)"
            " SELECT %s, %s, t.* FROM unnest(%s::text[], %s::bigint[], %s::text[],"
            " %s::bytea[]) AS t"
        )
        self.clear_docs = q("DELETE FROM {s}.agent_docs WHERE agent_id = %s AND family = %s")
        self.get_doc = q(
            "SELECT body FROM {s}.agent_docs"
            " WHERE agent_id = %s AND family = %s AND key_digest = %s"
        )
        self.list_docs = q(
            "SELECT body FROM {s}.agent_docs WHERE agent_id = %s AND family = %s"
            ' ORDER BY sort_ms, key COLLATE "C"'
        )

        self.insert_event = q(
            "INSERT INTO {s}.agent_events (agent_id, seq, channel, body) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (agent_id, seq) DO NOTHING RETURNING seq"
        )
        self.event_body = q("SELECT body FROM {s}.agent_events WHERE agent_id = %s AND seq = %s")
        self.read_events = q(
            "SELECT seq, body FROM {s}.agent_events WHERE agent_id = %s AND seq > %s"
            " ORDER BY seq LIMIT %s"
        )
        self.read_channel_events = q(
            "SELECT seq, body FROM {s}.agent_events"
            " WHERE agent_id = %s AND channel = %s AND seq > %s ORDER BY seq LIMIT %s"
        )

        self.save_info = q(
            "INSERT INTO {s}.agent_info (agent_id, template_id, created_ms, message_count, body)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (agent_id) DO UPDATE SET"
            " template_id = EXCLUDED.template_id, created_ms = EXCLUDED.created_ms,"
            " message_count = EXCLUDED.message_count, body = EXCLUDED.body"
        )
        self.load_info = q("SELECT body FROM {s}.agent_info WHERE agent_id = %s")

        # The agents row goes first: its delete waits for the agent's writers in flight.
        self.delete_agent = tuple(
            q(text)
            for text in (
                "DELETE FROM {s}.agents WHERE agent_id = %s",
                "DELETE FROM {s}.agent_info WHERE agent_id = %s",
                "DELETE FROM {s}.agent_messages WHERE agent_id = %s",
                "DELETE FROM {s}.agent_tool_calls WHERE agent_id = %s",
                "DELETE FROM {s}.agent_docs WHERE agent_id = %s",
                "DELETE FROM {s}.agent_events WHERE agent_id = %s",
            )
        )
        # A code point range (bytes of UTF-8 under "C" sort like code points) is the
        # literal prefix; starts_with guards the case where no upper bound exists.
        self.list_agents = q('SELECT agent_id FROM {s}.agents ORDER BY agent_id COLLATE "C"')
        self.list_agents_from = q(
            "SELECT agent_id FROM {s}.agents"
            ' WHERE agent_id COLLATE "C" >= %s AND starts_with(agent_id, %s)'
            ' ORDER BY agent_id COLLATE "C"'
        )
        self.list_agents_between = q(
            "SELECT agent_id FROM {s}.agents"
            ' WHERE agent_id COLLATE "C" >= %s AND agent_id COLLATE "C" < %s'
            ' AND starts_with(agent_id, %s) ORDER BY agent_id COLLATE "C"'
        )

        self.fork_copies = tuple(
            q(text)
            for text in (
                "INSERT INTO {s}.agent_messages"
                " (agent_id, position, digest, role, content_types, created_ms, body)"
                " SELECT t.id, m.position, m.digest, m.role, m.content_types, m.created_ms,"
                " m.body FROM {s}.agent_messages AS m, unnest(%s::text[]) AS t(id)"
                " WHERE m.agent_id = %s",
                "INSERT INTO {s}.agent_tool_calls (agent_id, id, position, name, state,"
                " is_error, has_approval, created_ms, updated_ms, digest, body, id_digest)"
                " SELECT t.id, c.id, c.position, c.name, c.state, c.is_error, c.has_approval,"
                " c.created_ms, c.updated_ms, c.digest, c.body, c.id_digest"
                " FROM {s}.agent_tool_calls AS c, unnest(%s::text[]) AS t(id)"
                " WHERE c.agent_id = %s",
                "INSERT INTO {s}.agent_docs (agent_id, family, key, sort_ms, body, key_digest)"
                " SELECT t.id, d.family, d.key, d.sort_ms, d.body, d.key_digest"
                " FROM {s}.agent_docs AS d, unnest(%s::text[]) AS t(id) WHERE d.agent_id = %s",
                "INSERT INTO {s}.agent_events (agent_id, seq, channel, body)"
                " SELECT t.id, e.seq, e.channel, e.body"
                " FROM {s}.agent_events AS e, unnest(%s::text[]) AS t(id) WHERE e.agent_id = %s",
            )
        )
        self.fork_infos = q(
            "INSERT INTO {s}.agent_info (agent_id, template_id, created_ms, message_count, body)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[],"
            " %s::text[]) ON CONFLICT (agent_id) DO UPDATE SET"
            " template_id = EXCLUDED.template_id, created_ms = EXCLUDED.created_ms,"
            " message_count = EXCLUDED.message_count, body = EXCLUDED.body"
        )

        self.stats = q(
            "SELECT (SELECT count(*) FROM {s}.agent_messages WHERE agent_id = %(a)s),"
            " (SELECT count(*) FROM {s}.agent_tool_calls WHERE agent_id = %(a)s),"
            " (SELECT count(*) FROM {s}.agent_docs"
            "   WHERE agent_id = %(a)s AND family = 'snapshots'),"
            " (SELECT coalesce(jsonb_object_agg(name, n), '{{}}') FROM"
            "   (SELECT name, count(*) AS n FROM {s}.agent_tool_calls"
            "    WHERE agent_id = %(a)s GROUP BY name) AS by_name),"
            " (SELECT coalesce(jsonb_object_agg(state, n), '{{}}') FROM"
            "   (SELECT state, count(*) AS n FROM {s}.agent_tool_calls"
            "    WHERE agent_id = %(a)s GROUP BY state) AS by_state)"
        )

        # The lease: taken if absent, released (no owner) or lapsed by the server's
        # clock, and the grant counter bumped in the same statement. A lapsed or
        # released row keeps its counter, so tokens only ever grow.
        self.lock_acquire = q(
            "INSERT INTO {s}.agent_locks AS l (agent_id, owner, expires_at, token)"
            " VALUES (%(a)s, %(o)s,"
            " clock_timestamp() + %(ms)s::bigint * interval '1 millisecond', 1)"
            " ON CONFLICT (agent_id) DO UPDATE SET owner = EXCLUDED.owner,"
            " expires_at = EXCLUDED.expires_at, token = l.token + 1"
            " WHERE l.owner IS NULL OR l.expires_at <= clock_timestamp()"
            " RETURNING token"
        )
        self.lock_renew = q(
            "UPDATE {s}.agent_locks"
            " SET expires_at = clock_timestamp() + %(ms)s::bigint * interval '1 millisecond'"
            " WHERE agent_id = %(a)s AND owner = %(o)s"
        )
        self.lock_release = q(
            "UPDATE {s}.agent_locks SET owner = NULL, expires_at = NULL"
            " WHERE agent_id = %(a)s AND owner = %(o)s"
        )


@functools.lru_cache(maxsize=1024)
def agent_statements(namespace: str) -> AgentStatements:
    """The composed statements of ``namespace``'s agent tables."""
    return AgentStatements(namespace)


def key_digest(key: str) -> bytes:
    """The 256-bit digest that stands for a tool-call id or document key in unique indexes."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=32).digest()


# -- queries: fixed SQL fragments per sort field, parameters for every value -------------

_SESSION_SORT: dict[str, LiteralString] = {
    "created_at": "created_ms",
    "agent_id": 'agent_id COLLATE "C"',
    "template_id": 'template_id COLLATE "C"',
    "message_count": "message_count",
}
_MESSAGE_SORT: dict[str, LiteralString] = {
    "created_at": "created_ms",
    "agent_id": 'agent_id COLLATE "C"',
    "role": 'role COLLATE "C"',
}
_TOOL_CALL_SORT: dict[str, LiteralString] = {
    "created_at": "created_ms",
    "updated_at": "updated_ms",
    "name": 'name COLLATE "C"',
    "state": 'state COLLATE "C"',
}


class _Where:
    def __init__(self) -> None:
        self.clauses: list[sql.Composable] = []
        self.params: list[Any] = []

    def add(self, clause: LiteralString, value: object) -> None:
        if value is not None:
            self.clauses.append(sql.SQL(clause))
            self.params.append(value)

    def window(self, query: _Query) -> None:
        # Half open, as the reference matcher: created_after <= created_ms < created_before.
        self.add("created_ms >= %s", query.created_after_ms)
        self.add("created_ms < %s", query.created_before_ms)

    def compose(self) -> sql.Composable:
        if not self.clauses:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(self.clauses)


def _select(
    columns: LiteralString,
    table: LiteralString,
    schema: sql.Identifier,
    where: _Where,
    query: _Query,
    sort: LiteralString,
    tie: LiteralString,
) -> tuple[sql.Composed, list[Any]]:
    direction = sql.SQL("DESC" if query.descending else "ASC")
    statement = sql.SQL(
        "SELECT {columns} FROM {schema}.{table}{where} ORDER BY {sort} {direction}, {tie}"
        " LIMIT %s OFFSET %s"
    ).format(
        columns=sql.SQL(columns),
        schema=schema,
        table=sql.Identifier(table),
        where=where.compose(),
        sort=sql.SQL(sort),
        direction=direction,
        tie=sql.SQL(tie),
    )
    return statement, [*where.params, query.limit, query.offset]


def session_query(schema: sql.Identifier, query: SessionQuery) -> tuple[sql.Composed, list[Any]]:
    """Info bodies in :func:`~kode_core.select_sessions`' order and page."""
    where = _Where()
    where.add("agent_id = %s", query.agent_id)
    where.add("template_id = %s", query.template_id)
    where.window(query)
    sort = _SESSION_SORT[query.sort_by]
    return _select("body", "agent_info", schema, where, query, sort, 'agent_id COLLATE "C"')


def message_query(schema: sql.Identifier, query: MessageQuery) -> tuple[sql.Composed, list[Any]]:
    """``(agent_id, position, body, created_ms)`` in :func:`~kode_core.select_messages`' order."""
    where = _Where()
    where.add("agent_id = %s", query.agent_id)
    where.add("role = %s", query.role)
    where.add("content_types ? %s", query.content_type)
    where.window(query)
    sort = _MESSAGE_SORT[query.sort_by]
    return _select(
        "agent_id, position, body, created_ms",
        "agent_messages",
        schema,
        where,
        query,
        sort,
        'agent_id COLLATE "C", position',
    )


def tool_call_query(schema: sql.Identifier, query: ToolCallQuery) -> tuple[sql.Composed, list[Any]]:
    """``(agent_id, body)`` in :func:`~kode_core.select_tool_calls`' order and page."""
    where = _Where()
    where.add("agent_id = %s", query.agent_id)
    where.add("name = %s", query.tool_name)
    where.add("state = %s", query.state)
    where.add("is_error = %s", query.is_error)
    where.add("has_approval = %s", query.has_approval)
    where.window(query)
    sort = _TOOL_CALL_SORT[query.sort_by]
    return _select(
        "agent_id, body",
        "agent_tool_calls",
        schema,
        where,
        query,
        sort,
        'agent_id COLLATE "C", id COLLATE "C"',
    )
