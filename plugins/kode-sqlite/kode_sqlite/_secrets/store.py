"""Secrets in SQLite: one opaque row per secret, salts per key version, an audit table."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kode_core.backend import BackendOptions
from kode_core.secrets import (
    AuditAction,
    AuditDraft,
    AuditEntry,
    SecretOptions,
    SecretRow,
    SecretStore,
)

from .._backend import SqliteBackend
from .schema import SECRETS, SecretTables
from .sql import SecretStatements

_T = TypeVar("_T")
#: Names per ``IN (...)`` query: well under SQLite's bound-parameter limit.
_NAMES_PER_QUERY = 500


def secret_row(values: Sequence[Any]) -> SecretRow:
    """A :class:`SecretRow` from the columns of ``ROW_COLUMNS``."""
    name, ciphertext, wrapped, version, fmt, created, updated = values
    return SecretRow(name, bytes(ciphertext), bytes(wrapped), version, fmt, created, updated)


def row_values(row: SecretRow) -> tuple[Any, ...]:
    """The columns of ``ROW_COLUMNS`` for ``row``."""
    return (
        row.name,
        row.ciphertext,
        row.wrapped_key,
        row.key_version,
        row.format_version,
        row.created_at,
        row.updated_at,
    )


class SqliteSecretStore(SecretStore):
    """Secrets in one namespace's tables of a SQLite file.

    Every write (with its audit entry) is one ``BEGIN IMMEDIATE`` transaction; a
    rotation's re-wrap is an ``UPDATE`` that only matches the row's old key version and
    wrapped key, so of two rotating processes exactly one re-wraps each row.
    """

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: SecretOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, SECRETS)
        self._sql = SecretStatements.for_tables(SecretTables.for_namespace(options.namespace))

    def __repr__(self) -> str:
        return f"<SqliteSecretStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._backend.write(self.namespace, SECRETS, work)

    async def _fetch_all(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        def work(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        return await self._backend.read(self.namespace, SECRETS, work)

    def _audit_in(self, conn: sqlite3.Connection, draft: AuditDraft | None) -> None:
        if draft is not None:
            conn.execute(
                self._sql.insert_audit,
                (draft.secret_key, draft.action.value, draft.performed_at, draft.actor),
            )

    async def _salt(self, version: int, candidate: bytes | None) -> bytes | None:
        if candidate is None:
            rows = await self._fetch_all(self._sql.read_salt, (version,))
            return bytes(rows[0][0]) if rows else None
        sql = self._sql

        def work(conn: sqlite3.Connection) -> bytes:
            conn.execute(sql.insert_salt, (version, candidate))
            return bytes(conn.execute(sql.read_salt, (version,)).fetchone()[0])

        return await self._write(work)

    async def _rows(self, names: Sequence[str]) -> dict[str, SecretRow]:
        found: dict[str, SecretRow] = {}
        for start in range(0, len(names), _NAMES_PER_QUERY):
            chunk = names[start : start + _NAMES_PER_QUERY]
            sql = self._sql.read_rows.format(names=", ".join("?" * len(chunk)))
            for values in await self._fetch_all(sql, chunk):
                row = secret_row(values)
                found[row.name] = row
        return found

    async def _exists(self, name: str) -> bool:
        return bool(await self._fetch_all(self._sql.exists, (name,)))

    async def _put(self, row: SecretRow, audit: AuditDraft | None) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(self._sql.upsert, row_values(row))
            self._audit_in(conn, audit)

        await self._write(work)

    async def _remove(self, name: str, audit: AuditDraft | None) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(self._sql.delete, (name,)).rowcount == 0:
                return False
            self._audit_in(conn, audit)
            return True

        return await self._write(work)

    async def _count_stale(self, version: int) -> int:
        [(count,)] = await self._fetch_all(self._sql.count_stale, (version,))
        return int(count)

    async def _stale(self, version: int, after: str | None, limit: int) -> list[SecretRow]:
        # Names are never empty, so '' starts at the first one.
        rows = await self._fetch_all(self._sql.stale, (version, after or "", limit))
        return [secret_row(values) for values in rows]

    async def _rewrap(self, old: SecretRow, new: SecretRow, audit: AuditDraft | None) -> bool:
        params = (
            new.wrapped_key,
            new.key_version,
            new.updated_at,
            old.name,
            old.key_version,
            old.wrapped_key,
        )

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(self._sql.rewrap, params).rowcount == 0:
                return False
            self._audit_in(conn, audit)
            return True

        return await self._write(work)

    async def _append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            for draft in drafts:
                self._audit_in(conn, draft)

        await self._write(work)

    async def _audit_entries(self, name: str | None, limit: int) -> list[AuditEntry]:
        if name is None:
            rows = await self._fetch_all(self._sql.audit, (limit,))
        else:
            rows = await self._fetch_all(self._sql.audit_of, (name, limit))
        return [
            AuditEntry(id, key, AuditAction(action), at, actor)
            for id, key, action, at, actor in rows
        ]
