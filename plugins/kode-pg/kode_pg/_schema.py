"""Storage layout of the ``pg`` backend and its versioned, lock-guarded migration.

Each namespace is one PostgreSQL schema, ``kode_<namespace>``, holding:

``kode_meta``
    ``(component, version)``: the schema version each service family applied
    (:data:`SESSIONS` here, ``AGENTS`` in ``_agent_schema``).
``session_keys``
    One row per transcript (project, session, subpath; ``''`` is the main
    transcript) with its sequence head ``last_position``, ``entry_count``,
    ``mtime`` and, for main transcripts, the folded ``summary``. Its row lock
    serialises the appenders of one transcript, in every process.
``session_entries``
    One row per entry: ``(key_id, position)`` is the primary key and the read
    order; a unique index on ``(key_id, uuid)`` enforces idempotency.

Text columns that are compared or sorted use the ``"C"`` collation, so listings
are ordered by code point, whatever the database's locale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from psycopg import AsyncConnection, sql

from kode_core import SchemaVersionError

if TYPE_CHECKING:
    from typing_extensions import LiteralString


@attrs.frozen
class SchemaComponent:
    """One service family's tables: its name and version in ``kode_meta``, its migrations.

    ``migrations[v]`` holds the statements (``{schema}`` marks the namespace's schema)
    that take the tables from version ``v - 1`` to ``v``.
    """

    name: str
    version: int
    migrations: Mapping[int, Sequence[LiteralString]]


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
SESSIONS = SchemaComponent("sessions", 1, {1: _V1})


def schema_name(namespace: str) -> str:
    """The PostgreSQL schema of a namespace (already validated as an identifier)."""
    return f"kode_{namespace}"


def schema_sql(namespace: str) -> sql.Identifier:
    """The quoted schema identifier of a namespace."""
    return sql.Identifier(schema_name(namespace))


async def ensure_schema(
    conn: AsyncConnection[Any],
    namespace: str,
    component: SchemaComponent,
    *,
    auto_migrate: bool,
    where: str,
) -> None:
    """Check ``component``'s version in the namespace; create or migrate it if allowed.

    The fast path only reads. Migration runs in one transaction under a
    transaction-scoped advisory lock, one per namespace whatever the component
    (each may create the schema and ``kode_meta``), so concurrent first users (in
    any process) migrate once and the others see the finished result.
    Raises :class:`~kode_core.SchemaVersionError` when the stored version is
    newer than ``component.version``, or older and ``auto_migrate`` is off.
    """
    supported = component.version
    found = await stored_version(conn, namespace, component)
    if found == supported:
        return
    if found > supported or not auto_migrate:
        raise SchemaVersionError("pg", found, supported, where)
    async with conn.transaction():
        lock_name = f"kode_pg:migrate:{schema_name(namespace)}"
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_name,))
        found = await stored_version(conn, namespace, component)
        if found > supported:
            raise SchemaVersionError("pg", found, supported, where)
        await _migrate(conn, namespace, component, found)


async def _migrate(
    conn: AsyncConnection[Any], namespace: str, component: SchemaComponent, found: int
) -> None:
    schema = schema_sql(namespace)
    await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
    await conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.kode_meta"
            " (component text PRIMARY KEY, version integer NOT NULL)"
        ).format(schema)
    )
    for version in range(found + 1, component.version + 1):
        for statement in component.migrations[version]:
            await conn.execute(sql.SQL(statement).format(schema=schema))
    await conn.execute(
        sql.SQL(
            "INSERT INTO {}.kode_meta (component, version) VALUES (%s, %s)"
            " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version"
        ).format(schema),
        (component.name, component.version),
    )


async def stored_version(
    conn: AsyncConnection[Any], namespace: str, component: SchemaComponent
) -> int:
    """The recorded version of ``component``, 0 when nothing is recorded."""
    meta = f'"{schema_name(namespace)}".kode_meta'
    cur = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (meta,))
    exists = await cur.fetchone()
    if not exists or not exists[0]:
        return 0
    cur = await conn.execute(
        sql.SQL("SELECT version FROM {}.kode_meta WHERE component = %s").format(
            schema_sql(namespace)
        ),
        (component.name,),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
