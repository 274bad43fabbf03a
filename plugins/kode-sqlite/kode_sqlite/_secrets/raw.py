"""The conformance kit's raw-row hook for SQLite: rows read and written with plain SQL.

For tests only (:class:`kode_core.testing.RawSecretRows`): it bypasses the store's
encryption entirely, and its dump is the database file's bytes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio.to_thread

from kode_core.secrets import SecretRow, SecretStore

from .schema import SecretTables
from .sql import ROW_COLUMNS
from .store import SqliteSecretStore, row_values, secret_row


class SqliteRawSecretRows:
    """Reads, overwrites and dumps a sqlite secret store's rows through its own connection."""

    async def read(self, store: SecretStore, name: str) -> SecretRow | None:
        t = _tables(store)
        sql = f"SELECT {ROW_COLUMNS} FROM {t.secrets} WHERE name = ?"
        rows = await _sqlite(store)._fetch_all(sql, (name,))
        return secret_row(rows[0]) if rows else None

    async def write(self, store: SecretStore, row: SecretRow) -> None:
        t = _tables(store)
        sql = f"INSERT OR REPLACE INTO {t.secrets} ({ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(sql, row_values(row))

        await _sqlite(store)._write(work)

    async def dump(self, store: SecretStore) -> bytes:
        """The bytes of the database file and of its write-ahead log, if any."""
        path = Path(_sqlite(store)._backend.path)

        def read() -> bytes:
            wal = path.with_name(path.name + "-wal")
            return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

        return await anyio.to_thread.run_sync(read)


def _sqlite(store: SecretStore) -> SqliteSecretStore:
    assert isinstance(store, SqliteSecretStore), f"not a sqlite secret store: {store!r}"
    return store


def _tables(store: SecretStore) -> SecretTables:
    return SecretTables.for_namespace(store.namespace)
