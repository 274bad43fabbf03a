"""Tables and indexes of the sqlite session store, and their versioned migration.

A namespace's session tables carry its name as a prefix
(``<namespace>__session_keys``, ``<namespace>__session_entries``); their schema
version is recorded in ``kode_meta`` under the component ``sessions``.
"""

from __future__ import annotations

import attrs

from kode_core.backend import SchemaComponent

from .._schema import SqliteMigration, quote


@attrs.frozen
class SessionTables:
    """The quoted names of one namespace's session tables and indexes."""

    namespace: str
    keys: str
    entries: str

    @classmethod
    def for_namespace(cls, namespace: str) -> SessionTables:
        return cls(
            namespace,
            quote(f"{namespace}__session_keys"),
            quote(f"{namespace}__session_entries"),
        )

    def index(self, name: str) -> str:
        return quote(f"{self.namespace}__{name}")


def _version_1(namespace: str) -> list[str]:
    t = SessionTables.for_namespace(namespace)
    # One row per (project, session, subpath) with the per-key sequence and the
    # summary; one row per entry. subpath '' is the main transcript.
    return [
        f"""CREATE TABLE {t.keys} (
            id INTEGER PRIMARY KEY,
            project_key TEXT NOT NULL,
            session_id TEXT NOT NULL,
            subpath TEXT NOT NULL DEFAULT '',
            last_position INTEGER NOT NULL DEFAULT 0,
            mtime INTEGER NOT NULL,
            summary TEXT,
            summary_mtime INTEGER
        )""",
        f"""CREATE UNIQUE INDEX {t.index("session_keys_by_key")}
            ON {t.keys} (project_key, session_id, subpath)""",
        # Listings and summaries read main transcripts only, ordered by session id.
        f"""CREATE INDEX {t.index("session_keys_main")}
            ON {t.keys} (project_key, session_id) WHERE subpath = ''""",
        # A rowid table (not WITHOUT ROWID): entries are often kilobytes long.
        f"""CREATE TABLE {t.entries} (
            id INTEGER PRIMARY KEY,
            key_id INTEGER NOT NULL REFERENCES {t.keys} (id),
            position INTEGER NOT NULL,
            uuid TEXT,
            body TEXT NOT NULL
        )""",
        f"""CREATE UNIQUE INDEX {t.index("session_entries_by_position")}
            ON {t.entries} (key_id, position)""",
        # NULLs are distinct in a unique index: entries without uuid never collide.
        f"""CREATE UNIQUE INDEX {t.index("session_entries_by_uuid")}
            ON {t.entries} (key_id, uuid)""",
    ]


#: The session tables.
SESSIONS: SchemaComponent[SqliteMigration] = SchemaComponent("sessions", 1, {1: _version_1})
