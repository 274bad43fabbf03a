"""Session transcripts in PostgreSQL: one row per entry, one locked key row per transcript."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import attrs
import psycopg

from kode_core.backend import now_ms
from kode_core.sessions import (
    EncodedEntry,
    SessionKey,
    SessionListing,
    SessionOptions,
    SessionStore,
    SessionSummary,
)

from .._backend import Connection, PgBackend
from .._conflicts import retry_conflicts
from .._options import PgOptions
from .group import GroupAppend
from .schema import SESSIONS
from .sql import key_params, session_statements

#: Heads remembered per store (oldest forgotten first): bounds its memory.
HEADS_KEPT = 4096


@attrs.frozen
class _Head:
    """What this store's last append left on a key: its row, head and summary."""

    key_id: int
    last_position: int
    summary: tuple[int, str] | None  # (summary_mtime, summary)


@attrs.frozen
class _HeadAppend:
    """One append at a remembered head (None: to a key with no row yet), its summary
    folded: a member of a group."""

    key: SessionKey
    head: _Head | None
    batch: Sequence[EncodedEntry]
    mtime: int
    summary: tuple[int, str] | None


class PgSessionStore(SessionStore):
    """Session transcripts in the schema ``kode_<namespace>`` of a PostgreSQL database.

    An append is one statement, shared with the store's other appends running
    meanwhile (:mod:`kode_pg._sessions.group`). A store remembers the head and
    summary each of its appends left on a key (up to :data:`HEADS_KEPT` keys); the
    next append to that key folds the summary first, and its batch goes in only if
    the head is still the same and no uuid of the batch is stored. An append to a key
    with no remembered head goes in if the key has no row yet (the row is created with
    it); if the row exists, the statement reads its head and summary, and the append
    runs once more at that head. An append that none of this stored (another writer
    moved the head, a retried batch) runs as one transaction in two round trips: it
    upserts the key row (taking its row lock), inserts the entries after the key's
    ``last_position``, letting the unique ``(key_id, uuid)`` index skip stored uuids,
    then stamps ``mtime``, the new head and the folded summary on the key row. No
    append's cost depends on the length of the transcript. The fold may run more than
    once for one append: it must be a pure function, as the SDK's is.
    """

    def __init__(self, backend: PgBackend, options: PgOptions, settings: SessionOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, SESSIONS)
        self._sql = session_statements(options.namespace)
        self._heads: dict[SessionKey, _Head] = {}
        self._group = GroupAppend(self._append_group)

    def __repr__(self) -> str:
        return f"<PgSessionStore namespace={self.namespace!r} at {self._backend.address}>"

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.connection(self.namespace, SESSIONS)

    def _transaction(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.transaction(self.namespace, SESSIONS)

    @retry_conflicts
    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        stored, head = await self._append_at_head(key, self._heads.get(key), batch)
        if not stored and head is not None:  # the key's head, as the snapshot held it
            stored, head = await self._append_at_head(key, head, batch)
        if not stored:
            await self._append_locking(key, batch)

    async def _append_at_head(
        self, key: SessionKey, head: _Head | None, batch: Sequence[EncodedEntry]
    ) -> tuple[bool, _Head | None]:
        """The whole batch stored in one statement, shared with the other appends running
        meanwhile, if ``head`` is still the key's, or if ``head`` is None and the key
        has no row yet. Stores nothing otherwise. Returns whether it was stored, and
        the key's head: after the batch if stored, else as read (None if not read)."""
        mtime = now_ms()
        folded = self.fold_summary(key, head.summary if head else None, batch)
        summary = (mtime, folded) if folded is not None else (head.summary if head else None)
        outcome = await self._group.run(key, _HeadAppend(key, head, batch, mtime, summary))
        if outcome is None:
            self._heads.pop(key, None)
            return False, None
        stored, key_id, last_position, summary_mtime, summary_text = outcome
        if not stored:
            self._heads.pop(key, None)
            seen = (summary_mtime, summary_text) if summary_text is not None else None
            return False, _Head(key_id, last_position, seen)
        if head is not None:
            key_id, last_position = head.key_id, head.last_position
        else:
            last_position = 0
        new_head = _Head(key_id, last_position + len(batch), summary)
        self._remember(key, new_head)
        return True, new_head

    async def _append_group(self, members: Sequence[_HeadAppend]) -> list[Any]:
        """One ``append_at_heads`` statement for ``members``: each one's outcome, a row
        (stored, key_id, last_position, summary_mtime, summary) or None."""
        columns: tuple[list[Any], ...] = tuple([] for _ in range(10))
        entries: tuple[list[Any], ...] = tuple([] for _ in range(4))
        for i, member in enumerate(members):
            head = member.head
            summary_mtime, summary = member.summary or (None, None)
            row = (
                i,
                head.key_id if head else None,
                head.last_position if head else None,
                len(member.batch),
                member.mtime,
                summary_mtime,
                summary,
                *key_params(member.key),
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
            for n, item in enumerate(member.batch, 1):
                for column, value in zip(entries, (i, n, item.uuid, item.text), strict=True):
                    column.append(value)
        known = [key_id for key_id in columns[1] if key_id is not None]
        outcomes: list[Any] = [None] * len(members)
        # One statement: atomic in autocommit, and in the transaction that sets
        # statement_timeout when one is configured.
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.append_at_heads, (*columns, *entries, known))
            for i, *outcome in await cur.fetchall():
                outcomes[i] = tuple(outcome)
        return outcomes

    def _remember(self, key: SessionKey, head: _Head) -> None:
        self._heads.pop(key, None)
        if len(self._heads) >= HEADS_KEPT:
            del self._heads[next(iter(self._heads))]
        self._heads[key] = head

    async def _append_locking(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        params = key_params(key)
        uuids = [item.uuid for item in batch]
        texts = [item.text for item in batch]
        async with self._transaction() as conn:
            # Round trip 1: lock (or create) the key row, then insert the entries whose
            # uuid is not stored yet. The insert runs once the lock is granted, so its
            # positions follow every entry committed by earlier holders of the lock.
            locked = await conn.execute(self._sql.lock_key, params)
            inserted = await conn.execute(self._sql.insert_entries, (uuids, texts, *params))
            row = await locked.fetchone()
            assert row is not None  # RETURNING always yields the upserted row
            key_id, last_position, summary_mtime, summary = row
            positions = sorted(position for (position,) in await inserted.fetchall())
            previous = (summary_mtime, summary) if summary is not None else None
            if not positions:
                head = _Head(key_id, last_position, previous)
                raise psycopg.Rollback()  # nothing new: leave the key row untouched
            fresh = [batch[position - last_position - 1] for position in positions]
            mtime = now_ms()  # under the row lock, so mtimes follow commit order
            folded = self.fold_summary(key, previous, fresh)
            if folded is not None:
                summary_mtime, summary = mtime, folded
            # Round trip 2: the key's head, mtime and summary, then commit.
            await conn.execute(
                self._sql.update_key,
                (positions[-1], len(fresh), mtime, summary_mtime, summary, key_id),
            )
            head = _Head(
                key_id, positions[-1], (summary_mtime, summary) if summary is not None else None
            )
        self._remember(key, head)  # committed (or rolled back with nothing to store)

    @retry_conflicts
    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.read, (*key_params(key), after, limit))
            return [(position, body) for position, body in await cur.fetchall()]

    @retry_conflicts
    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.read_tail, (*key_params(key), count))
            rows = await cur.fetchall()
        return [(position, body) for position, body in reversed(rows)]

    @retry_conflicts
    async def _count(self, key: SessionKey) -> int:
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.count, key_params(key))
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @retry_conflicts
    async def _sessions(
        self, project_key: str, after: str | None, limit: int | None
    ) -> list[SessionListing]:
        # Session ids are never empty, so '' is "from the start"; LIMIT NULL is no limit.
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.sessions, (project_key, after or "", limit))
            rows = await cur.fetchall()
        return [SessionListing(session_id, mtime) for session_id, mtime in rows]

    @retry_conflicts
    async def _projects(self, after: str | None, limit: int) -> list[str]:
        # Project keys are never empty, so '' is "from the start".
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.projects, (after or "", limit))
            return [project_key for (project_key,) in await cur.fetchall()]

    @retry_conflicts
    async def _summaries(self, project_key: str) -> list[SessionSummary]:
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.summaries, (project_key,))
            rows = await cur.fetchall()
        return [SessionSummary(sid, mtime, json.loads(data)) for sid, mtime, data in rows]

    @retry_conflicts
    async def _delete(self, key: SessionKey) -> None:
        # Entries go with their key rows (ON DELETE CASCADE), in one statement.
        async with self._transaction() as conn:
            if key.is_main:
                await conn.execute(self._sql.delete_session, (key.project_key, key.session_id))
            else:
                await conn.execute(self._sql.delete_subkey, key_params(key))

    @retry_conflicts
    async def _subkeys(self, key: SessionKey) -> list[str]:
        async with self._connection() as conn:
            cur = await conn.execute(self._sql.subkeys, (key.project_key, key.session_id))
            return [subpath for (subpath,) in await cur.fetchall()]
