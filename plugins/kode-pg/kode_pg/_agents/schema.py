"""Storage layout of the ``pg`` agent store: its tables and their versions.

The agent tables live in the namespace's schema ``kode_<namespace>`` beside the
session tables, with their own version record (component ``agents`` in
``kode_meta``, see :mod:`kode_pg._schema`), so either family migrates without the other:

``agents``
    One row per agent that has any data. Every write locks this row first, so the
    writers of one agent are serialised in every process, and ``delete`` (which
    deletes the row first) waits for them.
``agent_info``
    The info record, with the columns session queries filter and sort on.
``agent_messages``
    One row per message, ``(agent_id, position)``, with its digest, role, content
    block types (a JSON array) and the time it was first stored.
``agent_tool_calls``
    One row per tool-call record, unique by agent and id, with its saved ``position``.
``agent_docs``
    Todos, history windows, compression records, recovered files, media cache and
    snapshots, unique by ``(agent_id, family, key)``, ordered by ``(sort_ms, key)``.

Tool-call ids and document keys (a recovered file's path...) have no length limit,
but a btree entry must stay under about 2,700 bytes: their unique indexes hold a
256-bit digest of the id or key (``id_digest``, ``key_digest``) instead of the text.
``agent_events``
    The timeline, ``(agent_id, seq)`` unique, indexed by channel too.
``agent_locks``
    Lock leases: not agent data, so ``delete`` keeps the row and its fencing
    counter (tokens never repeat).

Every text column that is compared or sorted uses the ``"C"`` collation: code
point order, whatever the database's locale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core.backend import SchemaComponent

from .._schema import PgSchema

if TYPE_CHECKING:
    from typing_extensions import LiteralString


#: The tables that hold agent data (what ``delete`` clears and ``storage_bytes`` sums).
DATA_TABLES = (
    "agents",
    "agent_info",
    "agent_messages",
    "agent_tool_calls",
    "agent_docs",
    "agent_events",
)

_V1: tuple[LiteralString, ...] = (
    """CREATE TABLE IF NOT EXISTS {schema}.agents (
        agent_id text COLLATE "C" PRIMARY KEY,
        touched boolean NOT NULL DEFAULT false
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.agent_info (
        agent_id text COLLATE "C" PRIMARY KEY,
        template_id text COLLATE "C" NOT NULL,
        created_ms bigint NOT NULL,
        message_count bigint NOT NULL,
        body text NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS agent_info_template
        ON {schema}.agent_info (template_id, created_ms)""",
    """CREATE TABLE IF NOT EXISTS {schema}.agent_messages (
        agent_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        digest text NOT NULL,
        role text COLLATE "C" NOT NULL,
        content_types jsonb NOT NULL,
        created_ms bigint NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (agent_id, position)
    )""",
    """CREATE INDEX IF NOT EXISTS agent_messages_created
        ON {schema}.agent_messages (created_ms)""",
    """CREATE TABLE IF NOT EXISTS {schema}.agent_tool_calls (
        agent_id text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        name text COLLATE "C" NOT NULL,
        state text COLLATE "C" NOT NULL,
        is_error boolean NOT NULL,
        has_approval boolean NOT NULL,
        created_ms bigint NOT NULL,
        updated_ms bigint NOT NULL,
        digest text NOT NULL,
        body text NOT NULL,
        id_digest bytea NOT NULL,
        PRIMARY KEY (agent_id, id_digest)
    )""",
    """CREATE INDEX IF NOT EXISTS agent_tool_calls_name
        ON {schema}.agent_tool_calls (name, created_ms)""",
    """CREATE TABLE IF NOT EXISTS {schema}.agent_docs (
        agent_id text COLLATE "C" NOT NULL,
        family text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        sort_ms bigint NOT NULL,
        body text NOT NULL,
        key_digest bytea NOT NULL,
        PRIMARY KEY (agent_id, family, key_digest)
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.agent_events (
        agent_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        channel text COLLATE "C" NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (agent_id, seq)
    )""",
    """CREATE INDEX IF NOT EXISTS agent_events_channel
        ON {schema}.agent_events (agent_id, channel, seq)""",
    """CREATE TABLE IF NOT EXISTS {schema}.agent_locks (
        agent_id text COLLATE "C" PRIMARY KEY,
        owner text,
        expires_at timestamptz,
        token bigint NOT NULL
    )""",
)

# The token of the agent's message list, set by every write of it: a store that wrote
# the list last writes only what changed while the token is still its own.
_V2: tuple[LiteralString, ...] = (
    "ALTER TABLE {schema}.agents ADD COLUMN IF NOT EXISTS messages_token text",
)

#: The agent tables, migrated by :func:`~kode_pg._schema.ensure_schema` under the
#: namespace's one migration lock.
AGENTS: PgSchema = SchemaComponent("agents", 2, {1: _V1, 2: _V2})
