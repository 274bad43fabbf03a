"""Session transcripts in SQLite: one row per key, one row per entry."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kode_core.backend import BackendOptions, now_ms
from kode_core.sessions import (
    EncodedEntry,
    SessionKey,
    SessionListing,
    SessionOptions,
    SessionStore,
    SessionSummary,
)

from .._backend import SqliteBackend
from .schema import SESSIONS, SessionTables
from .sql import SessionStatements

_T = TypeVar("_T")


def _key_params(key: SessionKey) -> tuple[str, str, str]:
    # The main transcript is stored with subpath '' (an empty subpath is invalid input).
    return (key.project_key, key.session_id, key.subpath or "")


class SqliteSessionStore(SessionStore):
    """Session transcripts in one namespace's tables of a SQLite file.

    ``append`` is one ``BEGIN IMMEDIATE`` transaction: the file lock admits one
    writer at a time across processes, and the unique ``(key_id, uuid)`` index
    skips uuids already stored. Reads page through the ``(key_id, position)`` index.
    """

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: SessionOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, SESSIONS)
        self._sql = SessionStatements.for_tables(SessionTables.for_namespace(options.namespace))

    def __repr__(self) -> str:
        return f"<SqliteSessionStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._backend.write(self.namespace, SESSIONS, work)

    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            self._append_locked(conn, key, batch)

        await self._write(work)

    def _append_locked(
        self, conn: sqlite3.Connection, key: SessionKey, batch: Sequence[EncodedEntry]
    ) -> None:
        """The body of the append transaction; the caller holds the write lock."""
        params = _key_params(key)
        rows = conn.execute(self._sql.find_key, params).fetchall()
        if not rows:
            key_id, last, previous = conn.execute(self._sql.insert_key, params).lastrowid, 0, None
        else:
            [(key_id, last, summary_mtime, summary)] = rows
            previous = (summary_mtime, summary) if summary is not None else None
        stored: list[EncodedEntry] = []
        for item in batch:
            inserted = conn.execute(
                self._sql.insert_entry, (key_id, last + 1, item.uuid, item.text)
            )
            if inserted.rowcount == 1:
                last += 1
                stored.append(item)
        if not stored:
            return
        mtime = now_ms()
        conn.execute(
            self._sql.update_key,
            {
                "last": last,
                "mtime": mtime,
                "summary": self.fold_summary(key, previous, stored),
                "id": key_id,
            },
        )

    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        return await self._fetch_all(self._sql.read, (*_key_params(key), after, limit))

    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        newest_first = await self._fetch_all(self._sql.read_tail, (*_key_params(key), count))
        return newest_first[::-1]

    async def _count(self, key: SessionKey) -> int:
        [(count,)] = await self._fetch_all(self._sql.count, _key_params(key))
        return int(count)

    async def _sessions(
        self, project_key: str, after: str | None, limit: int | None
    ) -> list[SessionListing]:
        # Session ids are never empty, so '' starts at the first one; LIMIT -1 is no limit.
        params = (project_key, after or "", -1 if limit is None else limit)
        rows = await self._fetch_all(self._sql.sessions, params)
        return [SessionListing(session_id, mtime) for session_id, mtime in rows]

    async def _projects(self, after: str | None, limit: int) -> list[str]:
        # Project keys are never empty, so '' starts at the first one.
        rows = await self._fetch_all(self._sql.projects, (after or "", limit))
        return [project_key for (project_key,) in rows]

    async def _summaries(self, project_key: str) -> list[SessionSummary]:
        rows = await self._fetch_all(self._sql.summaries, (project_key,))
        return [
            SessionSummary(session_id, mtime, json.loads(data)) for session_id, mtime, data in rows
        ]

    async def _delete(self, key: SessionKey) -> None:
        sql = self._sql

        def work(conn: sqlite3.Connection) -> None:
            if key.is_main:
                params: tuple[str, ...] = (key.project_key, key.session_id)
                conn.execute(sql.delete_session_entries, params)
                conn.execute(sql.delete_session_keys, params)
            else:
                conn.execute(sql.delete_entries, _key_params(key))
                conn.execute(sql.delete_keys, _key_params(key))

        await self._write(work)

    async def _subkeys(self, key: SessionKey) -> list[str]:
        rows = await self._fetch_all(self._sql.subkeys, (key.project_key, key.session_id))
        return [subpath for (subpath,) in rows]

    async def _fetch_all(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        def work(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        return await self._backend.read(self.namespace, SESSIONS, work)
