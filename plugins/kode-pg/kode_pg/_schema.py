"""Schema versions of the ``pg`` backend, whatever the service family.

Each namespace is one PostgreSQL schema, ``kode_<namespace>``. Its ``kode_meta``
table holds ``(component, version)``: the schema version each service family
applied (``sessions``, ``agents``...), so each family migrates on its own. A
family's :data:`PgSchema` lists, per version, the statements that create or
change its tables; ``{schema}`` in a statement marks the namespace's schema.

Text columns that are compared or sorted use the ``"C"`` collation, so every
family orders by code point, whatever the database's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from psycopg import AsyncConnection, sql

from kode_core.backend import SchemaComponent, schema_action

if TYPE_CHECKING:
    from typing_extensions import LiteralString

#: One migration step: statements run in order, ``{schema}`` marking the namespace's schema.
Statements: TypeAlias = "Sequence[LiteralString]"
#: A service family's tables: its ``kode_meta`` row and its migrations.
PgSchema: TypeAlias = "SchemaComponent[Statements]"


def schema_name(namespace: str) -> str:
    """The PostgreSQL schema of a namespace (already validated as an identifier)."""
    return f"kode_{namespace}"


def schema_sql(namespace: str) -> sql.Identifier:
    """The quoted schema identifier of a namespace."""
    return sql.Identifier(schema_name(namespace))


async def ensure_schema(
    conn: AsyncConnection[Any],
    namespace: str,
    component: PgSchema,
    *,
    auto_migrate: bool,
    where: str,
) -> None:
    """Check ``component``'s version in the namespace; create or migrate it if allowed.

    The fast path only reads. Migration runs in one transaction under a
    transaction-scoped advisory lock, one per namespace whatever the component
    (each may create the schema and ``kode_meta``), so concurrent first users (in
    any process) migrate once and the others see the finished result.
    Raises :class:`~kode_core.SchemaVersionError` (see
    :func:`~kode_core.backend.schema_action`); nothing is created then.
    """

    def action(found: int) -> str:
        return schema_action("pg", found, component, auto_migrate=auto_migrate, where=where)

    if action(await stored_version(conn, namespace, component)) == "current":
        return
    async with conn.transaction():
        lock_name = f"kode_pg:migrate:{schema_name(namespace)}"
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_name,))
        # Decide again under the lock: another process may have migrated meanwhile.
        found = await stored_version(conn, namespace, component)
        if action(found) == "migrate":
            await _migrate(conn, namespace, component, found)


async def stored_version(conn: AsyncConnection[Any], namespace: str, component: PgSchema) -> int:
    """The recorded version of ``component``, 0 when nothing is recorded. Creates nothing."""
    # Not to_regclass(): it resolves names in the backend's catalog cache without a
    # lock, so after waiting for another migrator's advisory lock it may not see the
    # schema that one just committed (and CREATE SCHEMA IF NOT EXISTS would then fail
    # with a duplicate key). Reading the catalog tables takes a lock on them, which
    # brings the cache up to date, and sees the statement's snapshot.
    cur = await conn.execute(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_class AS c"
        " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = 'kode_meta')",
        (schema_name(namespace),),
    )
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


async def _migrate(
    conn: AsyncConnection[Any], namespace: str, component: PgSchema, found: int
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
