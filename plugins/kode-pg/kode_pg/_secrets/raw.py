"""The conformance kit's raw-row hook for PostgreSQL: rows read and written with plain SQL.

For tests only (:class:`kode_core.testing.RawSecretRows`): it bypasses the store's
encryption entirely; its dump is a binary ``COPY`` of every table in the namespace's
schema, the bytes as PostgreSQL holds them.
"""

from __future__ import annotations

from psycopg import sql

from kode_core.secrets import SecretRow, SecretStore

from .._schema import schema_name
from .sql import secret_statements
from .store import PgSecretStore, row_values, secret_row


class PgRawSecretRows:
    """Reads, overwrites and dumps a pg secret store's rows through its own pool."""

    async def read(self, store: SecretStore, name: str) -> SecretRow | None:
        async with _pg(store).connection() as conn:
            cur = await conn.execute(secret_statements(store.namespace).read_row, (name,))
            row = await cur.fetchone()
        return secret_row(row) if row else None

    async def write(self, store: SecretStore, row: SecretRow) -> None:
        async with _pg(store).connection() as conn:
            await conn.execute(secret_statements(store.namespace).overwrite, row_values(row))

    async def dump(self, store: SecretStore) -> bytes:
        schema = schema_name(store.namespace)
        out = bytearray()
        async with _pg(store).connection() as conn:
            cur = await conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
            for (table,) in await cur.fetchall():
                # Every value as the bytes it is (COPY cannot run in the pipeline mode
                # a statement_timeout puts the connection in).
                select = sql.SQL("SELECT * FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
                for row in await (await conn.execute(select)).fetchall():
                    for value in row:
                        out += _raw(value) + b"\x00"
        return bytes(out)


def _raw(value: object) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8")


def _pg(store: SecretStore) -> PgSecretStore:
    assert isinstance(store, PgSecretStore), f"not a pg secret store: {store!r}"
    return store
