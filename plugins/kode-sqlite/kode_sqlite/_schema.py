"""Tables, indexes and the versioned migration of the sqlite backend.

One database file holds every namespace. A namespace's tables carry its name
as a prefix (``<namespace>__session_keys``, ``<namespace>__session_entries``);
the shared ``kode_meta`` table records, per namespace and component (service
family: ``sessions``, ``agents``), which schema version has been applied.
Migrations run inside ``BEGIN IMMEDIATE``, so two processes migrating the same
namespace take turns on the file lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress

import attrs

from kode_core import SchemaVersionError, now_ms

META_TABLE = "kode_meta"


@attrs.frozen
class SchemaComponent:
    """One service family's tables: its name and version in ``kode_meta``, its migrations.

    ``migrations[v]`` gives, for a namespace, the statements that bring version ``v - 1``
    to ``v``.
    """

    name: str
    version: int
    migrations: Mapping[int, Callable[[str], Sequence[str]]]


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
SESSIONS = SchemaComponent("sessions", 1, {1: _version_1})


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; roll back on any error, the batch is all or nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # The original error matters; a failing rollback must not hide it.
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def ensure_schema(
    conn: sqlite3.Connection,
    namespace: str,
    component: SchemaComponent,
    *,
    auto_migrate: bool,
    where: str,
) -> None:
    """Check ``component``'s version for ``namespace``; create or migrate it if allowed.

    The fast path only reads. Migration runs in one ``BEGIN IMMEDIATE`` transaction
    and re-reads the version under the file lock, so a migration another process
    finished first is not repeated. Raises :class:`~kode_core.SchemaVersionError`
    for a newer version, or an older one with ``auto_migrate`` off.
    """
    found = stored_version(conn, namespace, component)
    if found == component.version:
        return
    check_version(found, component, auto_migrate=auto_migrate, where=where)
    with write_transaction(conn):
        found = stored_version(conn, namespace, component)
        if found != component.version:
            check_version(found, component, auto_migrate=auto_migrate, where=where)
            _migrate(conn, namespace, component, found)


def stored_version(conn: sqlite3.Connection, namespace: str, component: SchemaComponent) -> int:
    """The version of ``component`` recorded for ``namespace`` (0: none). Creates nothing."""
    # fetchall, not fetchone: a statement left mid-result keeps a read lock open.
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
    ).fetchall()
    if not has_meta:
        return 0
    rows = conn.execute(
        f"SELECT schema_version FROM {META_TABLE} WHERE namespace = ? AND service = ?",
        (namespace, component.name),
    ).fetchall()
    return int(rows[0][0]) if rows else 0


def check_version(
    found: int, component: SchemaComponent, *, auto_migrate: bool, where: str
) -> None:
    """Refuse a newer schema, or an older one when migrations are off."""
    supported = component.version
    if found > supported or (found < supported and not auto_migrate):
        raise SchemaVersionError("sqlite", found=found, supported=supported, where=where)


def _migrate(
    conn: sqlite3.Connection, namespace: str, component: SchemaComponent, found: int
) -> None:
    conn.execute(_META_DDL)
    for version in range(found + 1, component.version + 1):
        for statement in component.migrations[version](namespace):
            conn.execute(statement)
    conn.execute(
        f"""INSERT OR REPLACE INTO {META_TABLE} (namespace, service, schema_version, migrated_ms)
            VALUES (?, ?, ?, ?)""",
        (namespace, component.name, component.version, now_ms()),
    )
