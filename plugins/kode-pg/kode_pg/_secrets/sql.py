"""The statements of the ``pg`` secret store, composed once per namespace."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import attrs
from psycopg import sql

from .._schema import schema_sql

if TYPE_CHECKING:
    from typing_extensions import LiteralString

ROW_COLUMNS: LiteralString = (
    "name, ciphertext, wrapped_key, key_version, format_version, created_at, updated_at"
)
_AUDIT_COLUMNS: LiteralString = "id, secret_key, action, performed_at, actor"


@attrs.frozen
class SecretStatements:
    """The statements of one namespace, composed once (schema names are quoted)."""

    insert_salt: sql.Composed
    read_salt: sql.Composed
    read_rows: sql.Composed
    read_row: sql.Composed
    exists: sql.Composed
    upsert: sql.Composed
    overwrite: sql.Composed
    delete: sql.Composed
    count_stale: sql.Composed
    stale: sql.Composed
    rewrap: sql.Composed
    insert_audit: sql.Composed
    audit: sql.Composed
    audit_of: sql.Composed


@functools.lru_cache(maxsize=1024)
def secret_statements(namespace: str) -> SecretStatements:
    """The composed statements of ``namespace``'s schema."""
    s = schema_sql(namespace)

    def q(text: LiteralString) -> sql.Composed:
        return sql.SQL(text).format(s=s)

    insert_row: LiteralString = (
        "INSERT INTO {s}.secrets (" + ROW_COLUMNS + ") VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext,"
        " wrapped_key = excluded.wrapped_key, key_version = excluded.key_version,"
        " format_version = excluded.format_version, updated_at = excluded.updated_at"
    )
    return SecretStatements(
        insert_salt=q(
            "INSERT INTO {s}.secret_salts (key_version, salt) VALUES (%s, %s)"
            " ON CONFLICT (key_version) DO NOTHING"
        ),
        read_salt=q("SELECT salt FROM {s}.secret_salts WHERE key_version = %s"),
        read_rows=q("SELECT " + ROW_COLUMNS + " FROM {s}.secrets WHERE name = ANY(%s)"),
        read_row=q("SELECT " + ROW_COLUMNS + " FROM {s}.secrets WHERE name = %s"),
        exists=q("SELECT 1 FROM {s}.secrets WHERE name = %s"),
        upsert=q(insert_row),
        # The raw-row hook's write: every column as given, created_at included.
        overwrite=q(insert_row + ", created_at = excluded.created_at"),
        delete=q("DELETE FROM {s}.secrets WHERE name = %s"),
        count_stale=q("SELECT count(*) FROM {s}.secrets WHERE key_version < %s"),
        stale=q(
            "SELECT " + ROW_COLUMNS + " FROM {s}.secrets"
            " WHERE key_version < %s AND name > %s ORDER BY name LIMIT %s"
        ),
        # The compare-and-set of a rotation: only the row exactly as it was read.
        rewrap=q(
            "UPDATE {s}.secrets SET wrapped_key = %s, key_version = %s, updated_at = %s"
            " WHERE name = %s AND key_version = %s AND wrapped_key = %s"
        ),
        insert_audit=q(
            "INSERT INTO {s}.secret_audit (secret_key, action, performed_at, actor)"
            " VALUES (%s, %s, %s, %s)"
        ),
        audit=q("SELECT " + _AUDIT_COLUMNS + " FROM {s}.secret_audit ORDER BY id DESC LIMIT %s"),
        audit_of=q(
            "SELECT " + _AUDIT_COLUMNS + " FROM {s}.secret_audit"
            " WHERE secret_key = %s ORDER BY id DESC LIMIT %s"
        ),
    )
