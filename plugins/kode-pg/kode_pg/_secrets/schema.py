"""Storage layout of the ``pg`` secret store: its tables and their versions.

Beside the namespace's ``kode_meta`` (component ``secrets`` records this layout's
version, see :mod:`kode_pg._schema`), the schema ``kode_<namespace>`` holds:

``secrets``
    One opaque row per secret: ciphertext and wrapped data key (``bytea``), key and
    format versions, times. Never a plaintext, never a key-encryption key.
``secret_salts``
    The KDF salt of each key version; the first writer's salt wins.
``secret_audit``
    The append-only trail; ``id`` is an identity column, so entries sort by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core.backend import SchemaComponent

from .._schema import PgSchema

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_V1: tuple[LiteralString, ...] = (
    # COLLATE "C": names page in code point order, whatever the database's collation.
    """CREATE TABLE IF NOT EXISTS {schema}.secrets (
        name text COLLATE "C" PRIMARY KEY,
        ciphertext bytea NOT NULL,
        wrapped_key bytea NOT NULL,
        key_version bigint NOT NULL,
        format_version integer NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS secrets_by_version ON {schema}.secrets (key_version, name)""",
    """CREATE TABLE IF NOT EXISTS {schema}.secret_salts (
        key_version bigint PRIMARY KEY,
        salt bytea NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.secret_audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        secret_key text COLLATE "C" NOT NULL,
        action text NOT NULL,
        performed_at bigint NOT NULL,
        actor text
    )""",
    """CREATE INDEX IF NOT EXISTS secret_audit_by_key ON {schema}.secret_audit (secret_key, id)""",
)

#: The secret tables.
SECRETS: PgSchema = SchemaComponent("secrets", 1, {1: _V1})
