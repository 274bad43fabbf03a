"""Session transcripts in PostgreSQL: one row per entry, one locked key row per transcript."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import psycopg
from psycopg import sql

from kode_core import (
    BackendOptions,
    EncodedEntry,
    SessionKey,
    SessionListing,
    SessionStore,
    SessionSummary,
    now_ms,
)

from ._schema import SESSIONS, schema_sql

if TYPE_CHECKING:
    from typing_extensions import LiteralString

    from ._backend import PgBackend

# The main transcript is stored under subpath '' (an empty subpath is invalid input).
MAIN = ""


@attrs.frozen
class _Queries:
    """The statements of one namespace, composed once (schema names are quoted)."""

    lock_key: sql.Composed
    insert_entries: sql.Composed
    update_key: sql.Composed
    read: sql.Composed
    read_tail: sql.Composed
    count: sql.Composed
    sessions: sql.Composed
    projects: sql.Composed
    summaries: sql.Composed
    delete_session: sql.Composed
    delete_subkey: sql.Composed
    subkeys: sql.Composed


_KEY_ID: LiteralString = (
    "(SELECT id FROM {s}.session_keys WHERE project_key = %s AND session_id = %s AND subpath = %s)"
)


@functools.lru_cache(maxsize=1024)
def queries(namespace: str) -> _Queries:
    """The composed statements of ``namespace``'s schema."""
    s = schema_sql(namespace)

    def q(text: LiteralString) -> sql.Composed:
        return sql.SQL(text.replace("{key_id}", _KEY_ID)).format(s=s)

    return _Queries(
        # Insert or lock the key row: the row lock serialises appenders of this key,
        # across connections and processes, until the transaction ends.
        lock_key=q(
            "INSERT INTO {s}.session_keys (project_key, session_id, subpath, mtime)"
            " VALUES (%s, %s, %s, 0)"
            " ON CONFLICT (project_key, session_id, subpath)"
            " DO UPDATE SET last_position = {s}.session_keys.last_position"
            " RETURNING id, last_position, summary_mtime, summary"
        ),
        # The unique index on (key_id, uuid) is the dedupe: a stored uuid is skipped by
        # the insert itself, so no lookup plan can make an append cost grow with the
        # transcript. Positions come from the locked head, in batch order; a skipped
        # entry leaves its position unused.
        insert_entries=q(
            "INSERT INTO {s}.session_entries (key_id, position, uuid, body)"
            " SELECT k.id, k.last_position + t.n, t.uuid, t.body"
            " FROM {s}.session_keys AS k,"
            " unnest(%b::text[], %b::text[]) WITH ORDINALITY AS t(uuid, body, n)"
            " WHERE k.project_key = %s AND k.session_id = %s AND k.subpath = %s"
            " ON CONFLICT (key_id, uuid) WHERE uuid IS NOT NULL DO NOTHING"
            " RETURNING position"
        ),
        update_key=q(
            "UPDATE {s}.session_keys SET last_position = %s, entry_count = entry_count + %s,"
            " mtime = %s, summary_mtime = %s, summary = %s WHERE id = %s"
        ),
        read=q(
            "SELECT position, body FROM {s}.session_entries"
            " WHERE key_id = {key_id} AND position > %s ORDER BY position LIMIT %s"
        ),
        read_tail=q(
            "SELECT position, body FROM {s}.session_entries"
            " WHERE key_id = {key_id} ORDER BY position DESC LIMIT %s"
        ),
        count=q(
            "SELECT entry_count FROM {s}.session_keys"
            " WHERE project_key = %s AND session_id = %s AND subpath = %s"
        ),
        sessions=q(
            "SELECT session_id, mtime FROM {s}.session_keys"
            " WHERE project_key = %s AND subpath = '' AND session_id > %s"
            " ORDER BY session_id LIMIT %s"
        ),
        projects=q(
            "SELECT DISTINCT project_key FROM {s}.session_keys"
            " WHERE subpath = '' AND project_key > %s ORDER BY project_key LIMIT %s"
        ),
        summaries=q(
            "SELECT session_id, summary_mtime, summary FROM {s}.session_keys"
            " WHERE project_key = %s AND subpath = '' AND summary IS NOT NULL"
            " ORDER BY session_id"
        ),
        delete_session=q("DELETE FROM {s}.session_keys WHERE project_key = %s AND session_id = %s"),
        delete_subkey=q(
            "DELETE FROM {s}.session_keys"
            " WHERE project_key = %s AND session_id = %s AND subpath = %s"
        ),
        subkeys=q(
            "SELECT subpath FROM {s}.session_keys"
            " WHERE project_key = %s AND session_id = %s AND subpath <> ''"
            " ORDER BY subpath"
        ),
    )


def _key_params(key: SessionKey) -> tuple[str, str, str]:
    return (key.project_key, key.session_id, key.subpath or MAIN)


class PgSessionStore(SessionStore):
    """Session transcripts in the schema ``kode_<namespace>`` of a PostgreSQL database.

    An append is one transaction in two round trips: it upserts the transcript's
    key row (taking its row lock), inserts the entries after the key's
    ``last_position`` letting the unique ``(key_id, uuid)`` index skip stored
    uuids, then stamps ``mtime``, the new head and the folded summary on the key
    row. Its cost does not depend on the length of the transcript.
    """

    def __init__(self, backend: PgBackend, options: BackendOptions) -> None:
        super().__init__(options)
        self._backend = backend
        self._sql = queries(options.namespace)

    def __repr__(self) -> str:
        return f"<PgSessionStore namespace={self.namespace!r} at {self._backend.address}>"

    @property
    def supported_schema_version(self) -> int:
        return SESSIONS.version

    async def _migrate(self) -> None:
        await self._backend.migrate(self.namespace)

    async def _schema_version(self) -> int:
        return await self._backend.recorded_version(self.namespace)

    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        params = _key_params(key)
        uuids = [item.uuid for item in batch]
        texts = [item.text for item in batch]
        connection = self._backend.connection(self.namespace)
        async with connection as conn, conn.pipeline(), conn.transaction():
            # Round trip 1: lock (or create) the key row, then insert the entries whose
            # uuid is not stored yet. The insert runs once the lock is granted, so its
            # positions follow every entry committed by earlier holders of the lock.
            locked = await conn.execute(self._sql.lock_key, params)
            inserted = await conn.execute(self._sql.insert_entries, (uuids, texts, *params))
            row = await locked.fetchone()
            assert row is not None  # RETURNING always yields the upserted row
            key_id, last_position, summary_mtime, summary = row
            positions = sorted(position for (position,) in await inserted.fetchall())
            if not positions:
                raise psycopg.Rollback()  # nothing new: leave the key row untouched
            fresh = [batch[position - last_position - 1] for position in positions]
            mtime = now_ms()  # under the row lock, so mtimes follow commit order
            previous = (summary_mtime, summary) if summary is not None else None
            folded = self.fold_summary(key, previous, fresh)
            if folded is not None:
                summary_mtime, summary = mtime, folded
            # Round trip 2: the key's head, mtime and summary, then commit.
            await conn.execute(
                self._sql.update_key,
                (positions[-1], len(fresh), mtime, summary_mtime, summary, key_id),
            )

    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        async with self._backend.connection(self.namespace) as conn:
            cur = await conn.execute(self._sql.read, (*_key_params(key), after, limit))
            return [(position, body) for position, body in await cur.fetchall()]

    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        async with self._backend.connection(self.namespace) as conn:
            cur = await conn.execute(self._sql.read_tail, (*_key_params(key), count))
            rows = await cur.fetchall()
        return [(position, body) for position, body in reversed(rows)]

    async def _count(self, key: SessionKey) -> int:
        async with self._backend.connection(self.namespace) as conn:
            cur = await conn.execute(self._sql.count, _key_params(key))
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _sessions(
        self, project_key: str, after: str | None, limit: int | None
    ) -> list[SessionListing]:
        # Session ids are never empty, so '' is "from the start"; LIMIT NULL is no limit.
        async with self._backend.connection(self.namespace) as conn:
            cur = await conn.execute(self._sql.sessions, (project_key, after or "", limit))
            rows = await cur.fetchall()
        return [SessionListing(session_id, mtime) for session_id, mtime in rows]

    async def _projects(self, after: str | None, limit: int) -> list[str]:
        # Project keys are never empty, so '' is "from the start".
        async with self._backend.connection(self.namespace) as conn:
            cur = await conn.execute(self._sql.projects, (after or "", limit))
            return [project_key for (project_key,) in await cur.fetchall()]

    async def _summaries(self, project_key: str) -> list[SessionSummary]:
        async with self._backend.connection(self.namespace) as conn:
            cur = await conn.execute(self._sql.summaries, (project_key,))
            rows = await cur.fetchall()
        return [SessionSummary(sid, mtime, json.loads(data)) for sid, mtime, data in rows]

    async def _delete(self, key: SessionKey) -> None:
        # Entries go with their key rows (ON DELETE CASCADE), in one statement.
        async with self._backend.connection(self.namespace) as conn:
            if key.is_main:
                await conn.execute(self._sql.delete_session, (key.project_key, key.session_id))
            else:
                await conn.execute(self._sql.delete_subkey, _key_params(key))

    async def _subkeys(self, key: SessionKey) -> list[str]:
        async with self._backend.connection(self.namespace) as conn:
            cur = await conn.execute(self._sql.subkeys, (key.project_key, key.session_id))
            return [subpath for (subpath,) in await cur.fetchall()]
