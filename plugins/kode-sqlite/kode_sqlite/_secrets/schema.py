"""Tables of the sqlite secret store, and their versioned migration.

A namespace's secret tables carry its name as a prefix: ``<namespace>__secrets``
(one opaque row per secret), ``<namespace>__secret_salts`` (the KDF salt of each key
version) and ``<namespace>__secret_audit`` (the append-only trail). Their schema
version is recorded in ``kode_meta`` under the component ``secrets``.
"""

from __future__ import annotations

import attrs

from kode_core.backend import SchemaComponent

from .._schema import SqliteMigration, quote


@attrs.frozen
class SecretTables:
    """The quoted names of one namespace's secret tables and indexes."""

    namespace: str
    secrets: str
    salts: str
    audit: str

    @classmethod
    def for_namespace(cls, namespace: str) -> SecretTables:
        return cls(
            namespace,
            quote(f"{namespace}__secrets"),
            quote(f"{namespace}__secret_salts"),
            quote(f"{namespace}__secret_audit"),
        )

    def index(self, name: str) -> str:
        return quote(f"{self.namespace}__{name}")


def _version_1(namespace: str) -> list[str]:
    t = SecretTables.for_namespace(namespace)
    return [
        # Names compare as BINARY (UTF-8 bytes): code point order, like every engine.
        f"""CREATE TABLE {t.secrets} (
            name TEXT PRIMARY KEY,
            ciphertext BLOB NOT NULL,
            wrapped_key BLOB NOT NULL,
            key_version INTEGER NOT NULL,
            format_version INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID""",
        f"CREATE INDEX {t.index('secrets_by_version')} ON {t.secrets} (key_version, name)",
        f"""CREATE TABLE {t.salts} (
            key_version INTEGER PRIMARY KEY,
            salt BLOB NOT NULL
        )""",
        # AUTOINCREMENT: an id is never reused, even after the newest entry is gone.
        f"""CREATE TABLE {t.audit} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            secret_key TEXT NOT NULL,
            action TEXT NOT NULL,
            performed_at INTEGER NOT NULL,
            actor TEXT
        )""",
        f"CREATE INDEX {t.index('secret_audit_by_key')} ON {t.audit} (secret_key, id)",
    ]


#: The secret tables.
SECRETS: SchemaComponent[SqliteMigration] = SchemaComponent("secrets", 1, {1: _version_1})
