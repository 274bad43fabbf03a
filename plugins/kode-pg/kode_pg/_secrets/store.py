"""Secrets in PostgreSQL: one opaque row per secret, salts per key version, an audit table."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from kode_core.secrets import (
    AuditAction,
    AuditDraft,
    AuditEntry,
    SecretOptions,
    SecretRow,
    SecretStore,
)

from .._backend import Connection, PgBackend, rows_changed
from .._options import PgOptions
from .schema import SECRETS
from .sql import secret_statements


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


class PgSecretStore(SecretStore):
    """Secrets in the schema ``kode_<namespace>`` of a PostgreSQL database.

    A write and its audit entry commit in one transaction; a rotation's re-wrap is an
    ``UPDATE`` matching only the row's old key version and wrapped key, so of two
    rotating instances exactly one re-wraps each row (the other's update matches none).
    """

    def __init__(self, backend: PgBackend, options: PgOptions, settings: SecretOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, SECRETS)
        self._sql = secret_statements(options.namespace)

    def __repr__(self) -> str:
        return f"<PgSecretStore namespace={self.namespace!r} at {self._backend.address}>"

    def connection(self) -> AbstractAsyncContextManager[Connection]:
        """A pooled connection once this namespace's secret tables are ready."""
        return self._backend.connection(self.namespace, SECRETS)

    async def _audit_in(self, conn: Connection, draft: AuditDraft | None) -> None:
        if draft is not None:
            await conn.execute(
                self._sql.insert_audit,
                (draft.secret_key, draft.action.value, draft.performed_at, draft.actor),
            )

    async def _salt(self, version: int, candidate: bytes | None) -> bytes | None:
        async with self.connection() as conn:
            if candidate is not None:
                await conn.execute(self._sql.insert_salt, (version, candidate))
            cur = await conn.execute(self._sql.read_salt, (version,))
            row = await cur.fetchone()
        return bytes(row[0]) if row else None

    async def _rows(self, names: Sequence[str]) -> dict[str, SecretRow]:
        async with self.connection() as conn:
            cur = await conn.execute(self._sql.read_rows, (list(names),))
            rows = [secret_row(values) for values in await cur.fetchall()]
        return {row.name: row for row in rows}

    async def _exists(self, name: str) -> bool:
        async with self.connection() as conn:
            cur = await conn.execute(self._sql.exists, (name,))
            return await cur.fetchone() is not None

    async def _put(self, row: SecretRow, audit: AuditDraft | None) -> None:
        async with self.connection() as conn, conn.transaction():
            await conn.execute(self._sql.upsert, row_values(row))
            await self._audit_in(conn, audit)

    async def _remove(self, name: str, audit: AuditDraft | None) -> bool:
        async with self.connection() as conn, conn.transaction():
            cur = await conn.execute(self._sql.delete, (name,))
            if await rows_changed(cur) == 0:
                return False
            await self._audit_in(conn, audit)
            return True

    async def _count_stale(self, version: int) -> int:
        async with self.connection() as conn:
            cur = await conn.execute(self._sql.count_stale, (version,))
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _stale(self, version: int, after: str | None, limit: int) -> list[SecretRow]:
        # Names are never empty, so '' is "from the start".
        async with self.connection() as conn:
            cur = await conn.execute(self._sql.stale, (version, after or "", limit))
            return [secret_row(values) for values in await cur.fetchall()]

    async def _rewrap(self, old: SecretRow, new: SecretRow, audit: AuditDraft | None) -> bool:
        params = (
            new.wrapped_key,
            new.key_version,
            new.updated_at,
            old.name,
            old.key_version,
            old.wrapped_key,
        )
        async with self.connection() as conn, conn.transaction():
            cur = await conn.execute(self._sql.rewrap, params)
            if await rows_changed(cur) == 0:
                return False
            await self._audit_in(conn, audit)
            return True

    async def _append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        async with self.connection() as conn, conn.transaction():
            for draft in drafts:
                await self._audit_in(conn, draft)

    async def _audit_entries(self, name: str | None, limit: int) -> list[AuditEntry]:
        async with self.connection() as conn:
            if name is None:
                cur = await conn.execute(self._sql.audit, (limit,))
            else:
                cur = await conn.execute(self._sql.audit_of, (name, limit))
            rows = await cur.fetchall()
        return [
            AuditEntry(id, key, AuditAction(action), at, actor)
            for id, key, action, at, actor in rows
        ]
