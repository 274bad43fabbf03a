"""Tables, indexes and the schema version of the sqlite agent store.

A namespace's agent tables carry its name as a prefix, like its session tables
(``<namespace>__agent_messages``...). Their schema version is recorded in the
shared ``kode_meta`` table under the component ``agents``, apart from the session
tables' (``sessions``), so each family migrates on its own, through the same
:func:`~kode_sqlite._schema.ensure_schema`.
"""

from __future__ import annotations

import sqlite3

import attrs

from kode_core.backend import SchemaComponent

from .._schema import SqliteMigration, quote


@attrs.frozen
class AgentTables:
    """The quoted names of one namespace's agent tables."""

    namespace: str
    agents: str
    messages: str
    tool_calls: str
    docs: str
    events: str
    info: str
    leases: str

    @classmethod
    def for_namespace(cls, namespace: str) -> AgentTables:
        def name(table: str) -> str:
            return quote(f"{namespace}__agent_{table}")

        return cls(
            namespace,
            agents=name("ids"),
            messages=name("messages"),
            tool_calls=name("tool_calls"),
            docs=name("docs"),
            events=name("events"),
            info=name("info"),
            leases=name("leases"),
        )

    @property
    def data_tables(self) -> tuple[str, ...]:
        """Every table holding agent data (not the lock leases, which outlive a delete)."""
        return (self.messages, self.tool_calls, self.docs, self.events, self.info, self.agents)

    def index(self, name: str) -> str:
        return quote(f"{self.namespace}__agent_{name}")

    def storage_names(self, conn: sqlite3.Connection) -> list[str]:
        """The raw names of the namespace's agent tables and their indexes (for dbstat)."""
        tables = {
            f"{self.namespace}__agent_{table}"
            for table in ("ids", "messages", "tool_calls", "docs", "events", "info", "leases")
        }
        rows = conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
        ).fetchall()
        # Exact names, compared in Python: a LIKE on the namespace would treat '_' as a
        # wildcard, and a prefix would also match a namespace named like "<ns>__agent_x".
        return [name for name, table in rows if table in tables]


def _version_1(namespace: str) -> list[str]:
    t = AgentTables.for_namespace(namespace)
    # Every table is keyed by agent id first, so one agent's rows sit together and
    # delete, fork and per-agent reads are index range scans. TEXT columns use the
    # default BINARY collation: UTF-8 byte order, which is code point order.
    return [
        # One row per agent that has anything stored: exists() and list().
        f"CREATE TABLE {t.agents} (agent_id TEXT PRIMARY KEY) WITHOUT ROWID",
        # content_types: a JSON array of the message's distinct block types.
        f"""CREATE TABLE {t.messages} (
            agent_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            digest TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            role TEXT NOT NULL,
            content_types TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (agent_id, position)
        )""",
        f"CREATE INDEX {t.index('messages_by_time')} ON {t.messages} (created_ms)",
        f"""CREATE TABLE {t.tool_calls} (
            agent_id TEXT NOT NULL,
            id TEXT NOT NULL,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            is_error INTEGER NOT NULL,
            has_approval INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            digest TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (agent_id, id)
        )""",
        f"CREATE INDEX {t.index('tool_calls_by_name')} ON {t.tool_calls} (name)",
        f"""CREATE TABLE {t.docs} (
            agent_id TEXT NOT NULL,
            family TEXT NOT NULL,
            key TEXT NOT NULL,
            sort_ms INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (agent_id, family, key)
        )""",
        f"""CREATE INDEX {t.index("docs_in_order")}
            ON {t.docs} (agent_id, family, sort_ms, key)""",
        # (agent_id, seq) is the primary key: the unique index that makes appends idempotent.
        f"""CREATE TABLE {t.events} (
            agent_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            channel TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (agent_id, seq)
        )""",
        f"CREATE INDEX {t.index('events_by_channel')} ON {t.events} (agent_id, channel, seq)",
        f"""CREATE TABLE {t.info} (
            agent_id TEXT PRIMARY KEY,
            template_id TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            message_count INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        f"CREATE INDEX {t.index('info_by_template')} ON {t.info} (template_id, created_ms)",
        # One lease per agent ever locked; owner NULL when free. token never goes down.
        f"""CREATE TABLE {t.leases} (
            agent_id TEXT PRIMARY KEY,
            owner TEXT,
            expires_ms INTEGER NOT NULL,
            token INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ]


def _version_2(namespace: str) -> list[str]:
    t = AgentTables.for_namespace(namespace)
    # The token of the agent's message list, set by every write of it: a store that
    # wrote the list last writes only what changed while the token is still its own.
    return [f"ALTER TABLE {t.agents} ADD COLUMN messages_token TEXT"]


#: The agent tables.
AGENTS: SchemaComponent[SqliteMigration] = SchemaComponent(
    "agents", 2, {1: _version_1, 2: _version_2}
)
