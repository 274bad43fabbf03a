"""The SQL statements of the sqlite secret store, built once per namespace."""

from __future__ import annotations

import attrs

from .schema import SecretTables

ROW_COLUMNS = "name, ciphertext, wrapped_key, key_version, format_version, created_at, updated_at"


@attrs.frozen
class SecretStatements:
    """The SQL of one namespace, built once per store."""

    read_salt: str
    insert_salt: str
    read_rows: str
    exists: str
    upsert: str
    delete: str
    count_stale: str
    stale: str
    rewrap: str
    insert_audit: str
    audit: str
    audit_of: str

    @classmethod
    def for_tables(cls, t: SecretTables) -> SecretStatements:
        return cls(
            read_salt=f"SELECT salt FROM {t.salts} WHERE key_version = ?",
            insert_salt=f"INSERT OR IGNORE INTO {t.salts} (key_version, salt) VALUES (?, ?)",
            # {names} is a list of placeholders, one per name asked for.
            read_rows=f"SELECT {ROW_COLUMNS} FROM {t.secrets} WHERE name IN ({{names}})",
            exists=f"SELECT 1 FROM {t.secrets} WHERE name = ?",
            upsert=f"""INSERT INTO {t.secrets} ({ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext,
                    wrapped_key = excluded.wrapped_key, key_version = excluded.key_version,
                    format_version = excluded.format_version, updated_at = excluded.updated_at""",
            delete=f"DELETE FROM {t.secrets} WHERE name = ?",
            count_stale=f"SELECT count(*) FROM {t.secrets} WHERE key_version < ?",
            stale=f"""SELECT {ROW_COLUMNS} FROM {t.secrets}
                WHERE key_version < ? AND name > ? ORDER BY name LIMIT ?""",
            rewrap=f"""UPDATE {t.secrets} SET wrapped_key = ?, key_version = ?, updated_at = ?
                WHERE name = ? AND key_version = ? AND wrapped_key = ?""",
            insert_audit=f"""INSERT INTO {t.audit} (secret_key, action, performed_at, actor)
                VALUES (?, ?, ?, ?)""",
            audit=f"""SELECT id, secret_key, action, performed_at, actor FROM {t.audit}
                ORDER BY id DESC LIMIT ?""",
            audit_of=f"""SELECT id, secret_key, action, performed_at, actor FROM {t.audit}
                WHERE secret_key = ? ORDER BY id DESC LIMIT ?""",
        )
