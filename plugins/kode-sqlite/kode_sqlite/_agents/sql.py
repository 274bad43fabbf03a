"""The SQL of the sqlite agent store: fixed statements per namespace, and query building.

Queries are built from the core's validated query objects only: sort columns come
from the fixed maps below (never from user text), every value is a parameter.
"""

from __future__ import annotations

import attrs

from kode_core.agents import MessageQuery, SessionQuery, ToolCallQuery

from .schema import AgentTables

#: Sort field (the core's fixed lists) -> column; the second item is the tie-break.
_SESSION_ORDER = (
    {
        "created_at": "created_ms",
        "agent_id": "agent_id",
        "template_id": "template_id",
        "message_count": "message_count",
    },
    "agent_id",
)
_MESSAGE_ORDER = (
    {"created_at": "created_ms", "agent_id": "agent_id", "role": "role"},
    "agent_id, position",
)
_TOOL_CALL_ORDER = (
    {"created_at": "created_ms", "updated_at": "updated_ms", "name": "name", "state": "state"},
    "agent_id, id",
)

Params = list[object]


@attrs.frozen
class AgentStatements:
    """The fixed SQL of one namespace's agent tables, built once per store."""

    tables: AgentTables
    mark_agent: str
    message_states: str
    upsert_message: str
    delete_message: str
    load_messages: str
    message_token: str
    set_message_token: str
    delete_messages_from: str
    tool_call_states: str
    upsert_tool_call: str
    delete_tool_call: str
    load_tool_calls: str
    upsert_doc: str
    delete_docs: str
    get_doc: str
    list_docs: str
    insert_event: str
    event_body: str
    read_events: str
    read_channel_events: str
    upsert_info: str
    load_info: str
    exists: str
    fork_copies: tuple[str, ...]
    lease: str
    take_lease: str
    renew_lease: str
    release_lease: str

    @classmethod
    def for_tables(cls, t: AgentTables) -> AgentStatements:
        message_columns = "position, digest, created_ms, role, content_types, body"
        tool_columns = (
            "id, position, name, state, is_error, has_approval, created_ms, updated_ms, "
            "digest, body"
        )
        doc_columns = "family, key, sort_ms, body"
        event_columns = "seq, channel, body"
        return cls(
            tables=t,
            # Already there: no change (total_changes does not count it).
            mark_agent=f"INSERT INTO {t.agents} (agent_id) VALUES (?) ON CONFLICT DO NOTHING",
            message_states=f"""SELECT position, digest, created_ms FROM {t.messages}
                WHERE agent_id = ?""",
            upsert_message=f"""INSERT INTO {t.messages} (agent_id, {message_columns})
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (agent_id, position) DO UPDATE SET digest = excluded.digest,
                created_ms = excluded.created_ms, role = excluded.role,
                content_types = excluded.content_types, body = excluded.body""",
            delete_message=f"DELETE FROM {t.messages} WHERE agent_id = ? AND position = ?",
            load_messages=f"SELECT body FROM {t.messages} WHERE agent_id = ? ORDER BY position",
            message_token=f"SELECT messages_token FROM {t.agents} WHERE agent_id = ?",
            set_message_token=f"UPDATE {t.agents} SET messages_token = ? WHERE agent_id = ?",
            delete_messages_from=f"DELETE FROM {t.messages} WHERE agent_id = ? AND position >= ?",
            tool_call_states=f"""SELECT id, digest, created_ms FROM {t.tool_calls}
                WHERE agent_id = ?""",
            upsert_tool_call=f"""INSERT INTO {t.tool_calls} (agent_id, {tool_columns})
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (agent_id, id) DO UPDATE SET position = excluded.position,
                name = excluded.name, state = excluded.state, is_error = excluded.is_error,
                has_approval = excluded.has_approval, created_ms = excluded.created_ms,
                updated_ms = excluded.updated_ms, digest = excluded.digest,
                body = excluded.body""",
            delete_tool_call=f"DELETE FROM {t.tool_calls} WHERE agent_id = ? AND id = ?",
            load_tool_calls=f"SELECT body FROM {t.tool_calls} WHERE agent_id = ? ORDER BY position",
            upsert_doc=f"""INSERT INTO {t.docs} (agent_id, {doc_columns}) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (agent_id, family, key) DO UPDATE SET sort_ms = excluded.sort_ms,
                body = excluded.body""",
            delete_docs=f"DELETE FROM {t.docs} WHERE agent_id = ? AND family = ?",
            get_doc=f"SELECT body FROM {t.docs} WHERE agent_id = ? AND family = ? AND key = ?",
            list_docs=f"""SELECT body FROM {t.docs} WHERE agent_id = ? AND family = ?
                ORDER BY sort_ms, key""",
            insert_event=f"""INSERT INTO {t.events} (agent_id, {event_columns}) VALUES (?, ?, ?, ?)
                ON CONFLICT (agent_id, seq) DO NOTHING""",
            event_body=f"SELECT body FROM {t.events} WHERE agent_id = ? AND seq = ?",
            read_events=f"""SELECT seq, body FROM {t.events} WHERE agent_id = ? AND seq > ?
                ORDER BY seq LIMIT ?""",
            read_channel_events=f"""SELECT seq, body FROM {t.events}
                WHERE agent_id = ? AND channel = ? AND seq > ? ORDER BY seq LIMIT ?""",
            upsert_info=f"""INSERT INTO {t.info}
                (agent_id, template_id, created_ms, message_count, body) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (agent_id) DO UPDATE SET template_id = excluded.template_id,
                created_ms = excluded.created_ms, message_count = excluded.message_count,
                body = excluded.body""",
            load_info=f"SELECT body FROM {t.info} WHERE agent_id = ?",
            exists=f"SELECT 1 FROM {t.agents} WHERE agent_id = ?",
            # Each copies the source's (second parameter) rows to the target (first).
            fork_copies=(
                f"""INSERT INTO {t.messages} (agent_id, {message_columns})
                    SELECT ?, {message_columns} FROM {t.messages} WHERE agent_id = ?""",
                f"""INSERT INTO {t.tool_calls} (agent_id, {tool_columns})
                    SELECT ?, {tool_columns} FROM {t.tool_calls} WHERE agent_id = ?""",
                f"""INSERT INTO {t.docs} (agent_id, {doc_columns})
                    SELECT ?, {doc_columns} FROM {t.docs} WHERE agent_id = ?""",
                f"""INSERT INTO {t.events} (agent_id, {event_columns})
                    SELECT ?, {event_columns} FROM {t.events} WHERE agent_id = ?""",
            ),
            lease=f"SELECT owner, expires_ms, token FROM {t.leases} WHERE agent_id = ?",
            take_lease=f"""INSERT INTO {t.leases} (agent_id, owner, expires_ms, token)
                VALUES (?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET owner = excluded.owner,
                expires_ms = excluded.expires_ms, token = excluded.token""",
            renew_lease=f"UPDATE {t.leases} SET expires_ms = ? WHERE agent_id = ? AND owner = ?",
            release_lease=f"""UPDATE {t.leases} SET owner = NULL, expires_ms = 0
                WHERE agent_id = ? AND owner = ?""",
        )

    def delete_agent(self) -> list[str]:
        """One DELETE per data table; the lease (and its fencing counter) stays."""
        return [f"DELETE FROM {table} WHERE agent_id = ?" for table in self.tables.data_tables]

    def list_agents(self, bounded: bool) -> str:
        upper = " AND agent_id < ?" if bounded else ""
        return f"""SELECT agent_id FROM {self.tables.agents}
            WHERE agent_id >= ?{upper} ORDER BY agent_id"""


def _window(
    query: SessionQuery | MessageQuery | ToolCallQuery, where: list[str], params: Params
) -> None:
    # Half-open, like the reference matcher: created_after <= created_ms < created_before.
    if query.created_after_ms is not None:
        where.append("created_ms >= ?")
        params.append(query.created_after_ms)
    if query.created_before_ms is not None:
        where.append("created_ms < ?")
        params.append(query.created_before_ms)


def _finish(
    select: str,
    where: list[str],
    params: Params,
    query: SessionQuery | MessageQuery | ToolCallQuery,
    order: tuple[dict[str, str], str],
) -> tuple[str, Params]:
    columns, tie = order
    column = columns[query.sort_by]  # the core admitted only these names
    direction = "DESC" if query.descending else "ASC"
    sql = select + (" WHERE " + " AND ".join(where) if where else "")
    sql += f" ORDER BY {column} {direction}, {tie} LIMIT ? OFFSET ?"
    return sql, [*params, query.limit, query.offset]


def _equal(where: list[str], params: Params, column: str, value: object) -> None:
    if value is not None:
        where.append(f"{column} = ?")
        params.append(value)


def session_query(t: AgentTables, query: SessionQuery) -> tuple[str, Params]:
    where: list[str] = []
    params: Params = []
    _equal(where, params, "agent_id", query.agent_id)
    _equal(where, params, "template_id", query.template_id)
    _window(query, where, params)
    return _finish(f"SELECT body FROM {t.info}", where, params, query, _SESSION_ORDER)


def message_query(t: AgentTables, query: MessageQuery) -> tuple[str, Params]:
    where: list[str] = []
    params: Params = []
    _equal(where, params, "agent_id", query.agent_id)
    _equal(where, params, "role", query.role)
    if query.content_type is not None:
        # content_types is a JSON array of the message's block types: exact element match
        # (json_each is built into SQLite from 3.38 and compiled into most older builds).
        where.append("EXISTS (SELECT 1 FROM json_each(m.content_types) AS b WHERE b.value = ?)")
        params.append(query.content_type)
    _window(query, where, params)
    select = f"SELECT agent_id, position, body, created_ms FROM {t.messages} AS m"
    return _finish(select, where, params, query, _MESSAGE_ORDER)


def tool_call_query(t: AgentTables, query: ToolCallQuery) -> tuple[str, Params]:
    where: list[str] = []
    params: Params = []
    _equal(where, params, "agent_id", query.agent_id)
    _equal(where, params, "name", query.tool_name)
    _equal(where, params, "state", query.state)
    _equal(where, params, "is_error", None if query.is_error is None else int(query.is_error))
    _equal(
        where,
        params,
        "has_approval",
        None if query.has_approval is None else int(query.has_approval),
    )
    _window(query, where, params)
    select = f"SELECT agent_id, body FROM {t.tool_calls}"
    return _finish(select, where, params, query, _TOOL_CALL_ORDER)
