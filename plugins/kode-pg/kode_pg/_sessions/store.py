"""Session transcripts in PostgreSQL: one row per entry, one locked key row per transcript."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

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
    """One append at a remembered head, its summary folded: a member of a group."""

    head: _Head
    batch: Sequence[EncodedEntry]
    mtime: int
    summary: tuple[int, str] | None


class PgSessionStore(SessionStore):
    """Session transcripts in the schema ``kode_<namespace>`` of a PostgreSQL database.

    An append is one transaction in two round trips: it upserts the transcript's
    key row (taking its row lock), inserts the entries after the key's
    ``last_position`` letting the unique ``(key_id, uuid)`` index skip stored
    uuids, then stamps ``mtime``, the new head and the folded summary on the key
    row. Its cost does not depend on the length of the transcript.

    A store remembers the head and summary each of its appends left on a key (up to
    :data:`HEADS_KEPT` keys). The next append to that key folds the summary first and
    sends one statement that applies only if the head is still the same and no uuid
    of the batch is stored (``append_at_head``); otherwise (another writer moved the
    head, a retried batch) it stores nothing and the append runs as above. The fold
    may then run twice for one append: it must be a pure function, as the SDK's is.
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
        head = self._heads.get(key)
        if head is None or not await self._append_at_head(key, head, batch):
            await self._append_locking(key, batch)

    async def _append_at_head(
        self, key: SessionKey, head: _Head, batch: Sequence[EncodedEntry]
    ) -> bool:
        """The whole batch stored in one statement, shared with the other appends at a
        known head running meanwhile, if ``head`` is still the key's; True if it was.
        Stores nothing otherwise."""
        mtime = now_ms()
        folded = self.fold_summary(key, head.summary, batch)
        summary = (mtime, folded) if folded is not None else head.summary
        if not await self._group.run(key, _HeadAppend(head, batch, mtime, summary)):
            self._heads.pop(key, None)
            return False
        self._remember(key, _Head(head.key_id, head.last_position + len(batch), summary))
        return True

    async def _append_group(self, members: Sequence[_HeadAppend]) -> set[int]:
        """One ``append_at_heads`` statement for ``members``: the indexes of those stored."""
        index: list[int] = []
        key_ids: list[int] = []
        heads: list[int] = []
        sizes: list[int] = []
        mtimes: list[int] = []
        summary_mtimes: list[int | None] = []
        summaries: list[str | None] = []
        entry_index: list[int] = []
        offsets: list[int] = []
        uuids: list[str | None] = []
        texts: list[str] = []
        for i, member in enumerate(members):
            index.append(i)
            key_ids.append(member.head.key_id)
            heads.append(member.head.last_position)
            sizes.append(len(member.batch))
            mtimes.append(member.mtime)
            summary_mtime, summary = member.summary or (None, None)
            summary_mtimes.append(summary_mtime)
            summaries.append(summary)
            for n, item in enumerate(member.batch, 1):
                entry_index.append(i)
                offsets.append(n)
                uuids.append(item.uuid)
                texts.append(item.text)
        params = (index, key_ids, heads, sizes, mtimes, summary_mtimes, summaries)
        # One statement: atomic in autocommit, and in the transaction that sets
        # statement_timeout when one is configured.
        async with self._connection() as conn:
            cur = await conn.execute(
                self._sql.append_at_heads,
                (*params, entry_index, offsets, uuids, texts, key_ids),
            )
            return {i for (i,) in await cur.fetchall()}

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
