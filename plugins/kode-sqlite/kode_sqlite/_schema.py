"""Tables, indexes and the schema version of the sqlite backend.

One database file holds every namespace. A namespace's tables carry its name
as a prefix (``<namespace>__session_keys``, ``<namespace>__session_entries``);
the shared ``kode_meta`` table records, per namespace and service, which
schema version has been applied. Migrations run inside ``BEGIN IMMEDIATE``,
so two processes migrating the same namespace take turns on the file lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import attrs

from kode_core import SchemaVersionError

#: The session tables' layout this code reads and writes.
SCHEMA_VERSION = 1
#: The service whose schema version this module manages in ``kode_meta``.
SERVICE = "sessions"
META_TABLE = "kode_meta"

_META_DDL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    namespace TEXT NOT NULL,
    service TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    migrated_ms INTEGER NOT NULL,
    PRIMARY KEY (namespace, service)
)"""


def quote(identifier: str) -> str:
    """An SQL identifier quoted for SQLite."""
    return '"' + identifier.replace('"', '""') + '"'


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


def _version_1(t: SessionTables) -> list[str]:
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


#: version -> the statements that bring version - 1 to it.
_MIGRATIONS: dict[int, Callable[[SessionTables], list[str]]] = {1: _version_1}


def recorded_version(conn: sqlite3.Connection, namespace: str) -> int:
    """The schema version recorded for ``namespace`` (0: none). Creates nothing."""
    # fetchall, not fetchone: a statement left mid-result keeps a read lock open.
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
    ).fetchall()
    if not has_meta:
        return 0
    rows = conn.execute(
        f"SELECT schema_version FROM {META_TABLE} WHERE namespace = ? AND service = ?",
        (namespace, SERVICE),
    ).fetchall()
    return int(rows[0][0]) if rows else 0


def check_version(found: int, *, auto_migrate: bool, where: str) -> None:
    """Refuse a newer schema, or an older one when migrations are off."""
    if found > SCHEMA_VERSION or (found < SCHEMA_VERSION and not auto_migrate):
        raise SchemaVersionError("sqlite", found=found, supported=SCHEMA_VERSION, where=where)


def migrate(conn: sqlite3.Connection, namespace: str, found: int, now: int) -> None:
    """Bring ``namespace`` from version ``found`` to :data:`SCHEMA_VERSION` and record it.

    The caller holds the write lock (``BEGIN IMMEDIATE``) and has re-read ``found``
    under it, so a migration another process finished first is not repeated.
    """
    tables = SessionTables.for_namespace(namespace)
    conn.execute(_META_DDL)
    for version in range(found + 1, SCHEMA_VERSION + 1):
        for statement in _MIGRATIONS[version](tables):
            conn.execute(statement)
    conn.execute(
        f"""INSERT OR REPLACE INTO {META_TABLE} (namespace, service, schema_version, migrated_ms)
            VALUES (?, ?, ?, ?)""",
        (namespace, SERVICE, SCHEMA_VERSION, now),
    )
