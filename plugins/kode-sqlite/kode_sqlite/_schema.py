"""Schema versions of the sqlite backend, whatever the service family.

One database file holds every namespace. A namespace's tables carry its name as a
prefix (``<namespace>__session_keys``, ``<namespace>__agent_messages``...); the shared
``kode_meta`` table records, per namespace and component (service family:
``sessions``, ``agents``...), which schema version has been applied, so each family
migrates on its own. A family describes its tables as a :data:`SqliteSchema`: per
version, a function of the namespace returning the SQL statements to run. Migrations
run inside ``BEGIN IMMEDIATE``, so two processes migrating the same namespace take
turns on the file lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Literal, TypeVar, cast

from kode_core.backend import SchemaComponent, now_ms, schema_action

META_TABLE = "kode_meta"

#: One migration step: ``namespace -> SQL statements`` taking version ``v - 1`` to ``v``.
SqliteMigration = Callable[[str], Sequence[str]]
#: A service family's tables: its name in ``kode_meta``, its version, its migrations.
SqliteSchema = SchemaComponent[SqliteMigration]
#: The migration type of a family's tables: any ``SqliteMigration``, e.g. a function
#: returning ``list[str]`` (``SchemaComponent`` is invariant in it, so functions taking
#: a component are generic over it).
MigrationT = TypeVar("MigrationT", bound=SqliteMigration)

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
    component: SchemaComponent[MigrationT],
    *,
    auto_migrate: bool,
    where: str,
) -> None:
    """Check ``component``'s version for ``namespace``; create or migrate it if allowed.

    The fast path only reads. Migration runs in one ``BEGIN IMMEDIATE`` transaction
    and decides again under the file lock, so a migration another process finished
    first is not repeated. Raises :class:`~kode_core.SchemaVersionError` (see
    :func:`~kode_core.backend.schema_action`); nothing is created then.
    """
    found = stored_version(conn, namespace, component)
    if action(found, component, auto_migrate=auto_migrate, where=where) == "current":
        return
    with write_transaction(conn):
        found = stored_version(conn, namespace, component)
        if action(found, component, auto_migrate=auto_migrate, where=where) == "migrate":
            _migrate(conn, namespace, component, found)


def stored_version(
    conn: sqlite3.Connection, namespace: str, component: SchemaComponent[MigrationT]
) -> int:
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


def action(
    found: int, component: SchemaComponent[MigrationT], *, auto_migrate: bool, where: str
) -> Literal["current", "migrate"]:
    """:func:`~kode_core.backend.schema_action` for the ``sqlite`` kind."""
    # schema_action reads only name and version; its parameter is SchemaComponent[object],
    # which an invariant SchemaComponent[SqliteMigration] does not match for mypy.
    general = cast("SchemaComponent[object]", component)
    return schema_action("sqlite", found, general, auto_migrate=auto_migrate, where=where)


def _migrate(
    conn: sqlite3.Connection, namespace: str, component: SchemaComponent[MigrationT], found: int
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
