"""Storage layout of the ``pg`` session store: its tables and their versions.

Beside the namespace's ``kode_meta`` (component ``sessions`` records this
layout's version, see :mod:`kode_pg._schema`), the schema ``kode_<namespace>`` holds:

``session_keys``
    One row per transcript (project, session, subpath; ``''`` is the main
    transcript) with its sequence head ``last_position``, ``entry_count``,
    ``mtime`` and, for main transcripts, the folded ``summary``. Its row lock
    serialises the appenders of one transcript, in every process.
``session_entries``
    One row per entry: ``(key_id, position)`` is the primary key and the read
    order; a unique index on ``(key_id, uuid)`` enforces idempotency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core.backend import SchemaComponent

from .._schema import PgSchema

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_V1: tuple[LiteralString, ...] = (
    """CREATE TABLE IF NOT EXISTS {schema}.session_keys (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project_key text COLLATE "C" NOT NULL,
        session_id text COLLATE "C" NOT NULL,
        subpath text COLLATE "C" NOT NULL DEFAULT '',
        last_position bigint NOT NULL DEFAULT 0,
        entry_count bigint NOT NULL DEFAULT 0,
        mtime bigint NOT NULL,
        summary text,
        summary_mtime bigint,
        CONSTRAINT session_keys_key UNIQUE (project_key, session_id, subpath)
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.session_entries (
        key_id bigint NOT NULL REFERENCES {schema}.session_keys (id) ON DELETE CASCADE,
        position bigint NOT NULL,
        uuid text COLLATE "C",
        body text NOT NULL,
        PRIMARY KEY (key_id, position)
    )""",
    # Partial: entries without uuid are never deduplicated, so they need no index entry.
    """CREATE UNIQUE INDEX IF NOT EXISTS session_entries_uuid
        ON {schema}.session_entries (key_id, uuid) WHERE uuid IS NOT NULL""",
)

#: The session tables.
SESSIONS: PgSchema = SchemaComponent("sessions", 1, {1: _V1})
