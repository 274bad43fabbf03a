"""The MongoDB session store: transcripts as one document per batch, appended in transactions."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import attrs
from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from kode_core.backend import now_ms
from kode_core.sessions import (
    EncodedEntry,
    SessionKey,
    SessionListing,
    SessionOptions,
    SessionStore,
    SessionSummary,
)

from .._backend import MongoBackend
from .._options import MongoOptions, check_entry_limit
from .._schema import Document
from .batches import batch_documents, positioned
from .schema import (
    BATCH_LAYOUT,
    ENTRIES_PER_DOCUMENT,
    SESSIONS,
    Collections,
    key_id,
    uuid_entry_id,
)

_MAIN = ""  # the stored subpath of a main transcript (an empty subpath is invalid input)
_INT64_MAX = 2**63 - 1  # BSON's largest integer: positions and limits never exceed it


def _int64(value: int) -> int:
    return min(value, _INT64_MAX)


#: Transcript heads a store remembers from its own appends (least recently used go).
_REMEMBERED_HEADS = 1024
#: The uuids of its latest appends a head remembers: a batch holding one of them is
#: likely a retry, so its uuids are looked up before the insert rather than after.
_RECENT_UUIDS = 128


@attrs.define
class _Attempts:
    """What one append learnt from its earlier attempts."""

    #: A uuid of the batch turned out stored: look the uuids up before inserting.
    look_up: bool = False


@attrs.frozen
class _Head:
    """What an append needs of a transcript's key document."""

    #: Replaced by every append that stores something (None: no document yet, or
    #: one last written before revisions were recorded).
    rev: ObjectId | None
    last: int
    #: ``(summary_mtime, summary)`` or None.
    summary: tuple[int, str] | None
    #: Begun under version 1: its uuids may be stored as entry ``_id``s.
    legacy: bool
    #: The uuids of this store's latest appends to the transcript (a hint only).
    recent: tuple[str, ...] = ()

    @classmethod
    def of(cls, document: Document | None) -> _Head:
        if document is None:
            return cls(None, 0, None, legacy=False)
        summary = document.get("summary")
        return cls(
            document.get("rev"),
            int(document["last_position"]),
            None if summary is None else (document["summary_mtime"], summary),
            legacy=document.get("layout") != BATCH_LAYOUT,
        )


class _StaleHead(Exception):
    """A remembered head is not the stored one any more (nothing was written)."""


class MongoSessionStore(SessionStore):
    """Session transcripts in one database's ``<namespace>.session_*`` collections.

    Each append is one transaction that also writes the transcript's key
    document, so concurrent appends to one transcript (from any process) conflict
    in the engine and are retried one after the other, and a uuid is stored at
    most once per transcript (the unique ``(k, u)`` index holds it as well). A batch
    is inserted as one document (see :mod:`kode_mongo._sessions.schema`).
    """

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: SessionOptions
    ) -> None:
        check_entry_limit(settings.max_entry_bytes)
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend.schema_in(options.database), SESSIONS)
        self._database = options.database
        # The heads this store wrote last, by key id: an append starts from one
        # and writes the key document only if its rev is still the stored one.
        self._heads: dict[str, _Head] = {}
        self._cols: Collections | None = None

    def __repr__(self) -> str:
        return (
            f"<MongoSessionStore {self._backend.address} database={self._database!r} "
            f"namespace={self.namespace!r}>"
        )

    @property
    def database(self) -> str:
        """The MongoDB database this store reads and writes."""
        return self._database

    @asynccontextmanager
    async def _collections(self) -> AsyncIterator[Collections]:
        async with self._backend.database(self._database, self.namespace, SESSIONS) as db:
            # Made once per client: building collection objects costs every call.
            cols = self._cols
            if cols is None or cols.keys.database.client is not db.client:
                cols = self._cols = Collections.of(db, self.namespace)
            yield cols

    # -- writes -----------------------------------------------------------------------

    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        kid = key_id(key)
        attempts = _Attempts()
        # Whatever happens, the remembered head is forgotten first: a commit with
        # an unknown outcome leaves nothing to trust.
        remembered = self._heads.pop(kid, None)
        async with self._collections() as cols:
            head = await self._backend.transaction(
                functools.partial(self._append_in, cols, key, kid, batch, remembered, attempts)
            )
        if head is not None:
            self._heads[kid] = head
            if len(self._heads) > _REMEMBERED_HEADS:
                del self._heads[next(iter(self._heads))]

    async def _append_in(
        self,
        cols: Collections,
        key: SessionKey,
        kid: str,
        batch: Sequence[EncodedEntry],
        remembered: _Head | None,
        attempts: _Attempts,
        session: AsyncClientSession,
    ) -> _Head | None:
        """One attempt: the head this append wrote, or None if it stored nothing."""
        if remembered is not None and remembered.rev is not None:
            with contextlib.suppress(_StaleHead):
                return await self._store(cols, key, kid, batch, remembered, attempts, session)
        # The transaction's snapshot starts with this read (or with the update of a
        # stale remembered head, which wrote nothing). If another append writes the
        # key document after the snapshot, this attempt's write conflicts and it
        # starts over.
        document = await cols.keys.find_one(
            {"_id": kid},
            {"rev": 1, "last_position": 1, "summary": 1, "summary_mtime": 1, "layout": 1},
            session=session,
        )
        return await self._store(cols, key, kid, batch, _Head.of(document), attempts, session)

    async def _store(
        self,
        cols: Collections,
        key: SessionKey,
        kid: str,
        batch: Sequence[EncodedEntry],
        head: _Head,
        attempts: _Attempts,
        session: AsyncClientSession,
    ) -> _Head | None:
        """Write the key document (only where its rev is ``head.rev``, if set), then
        the batch. Raises :class:`_StaleHead` if that rev is not the stored one."""
        # A transcript begun under layout 2 holds every uuid in the unique (k, u)
        # index: the insert itself finds a stored one (and the next attempt looks
        # them up). One begun under version 1 may hold them as entry ``_id``s.
        fresh = list(batch)
        recent = {item.uuid for item in batch if item.uuid is not None} & set(head.recent)
        if attempts.look_up or head.legacy or recent:
            fresh = await _unstored(cols, kid, batch, head.legacy, session)
        if not fresh:
            # A retried batch: leave the transcript (and its mtime) untouched.
            await session.abort_transaction()
            return None
        # Later than every append committed before this one's snapshot (a remembered
        # head is still the stored one only if none did since this store's last
        # append), and earlier than any append that commits after this one.
        mtime = now_ms()
        summary = self.fold_summary(key, head.summary, fresh)
        uuids = tuple(item.uuid for item in fresh if item.uuid is not None)
        written = _Head(
            ObjectId(),
            head.last + len(fresh),
            head.summary if summary is None else (mtime, summary),
            head.legacy,
            (head.recent + uuids)[-_RECENT_UUIDS:] if _RECENT_UUIDS else (),
        )
        update: Document = {"last_position": written.last, "mtime": mtime, "rev": written.rev}
        if summary is not None:
            update |= {"summary": summary, "summary_mtime": mtime}
        changes = {"$set": update, "$inc": {"entry_count": len(fresh)}}
        if head.rev is not None:
            result = await cols.keys.update_one(
                {"_id": kid, "rev": head.rev}, changes, session=session
            )
            if result.matched_count == 0:
                raise _StaleHead
        else:
            changes["$setOnInsert"] = {
                "project_key": key.project_key,
                "session_id": key.session_id,
                "subpath": key.subpath or _MAIN,
                "layout": BATCH_LAYOUT,
            }
            await cols.keys.update_one({"_id": kid}, changes, upsert=True, session=session)
        documents = batch_documents(kid, head.last, fresh)
        try:
            if len(documents) == 1:  # the usual batch: insert_one is the driver's short path
                await cols.entries.insert_one(documents[0], session=session)
            else:
                await cols.entries.insert_many(documents, ordered=True, session=session)
        except (BulkWriteError, DuplicateKeyError) as exc:
            if not _stored_uuid(exc):
                raise
            # Another attempt (the backend retries duplicates) looks the uuids up.
            attempts.look_up = True
            raise DuplicateKeyError("a uuid of the batch is stored already", 11000) from exc
        return written

    async def _delete(self, key: SessionKey) -> None:
        async with self._collections() as cols:
            await self._backend.transaction(functools.partial(_delete_in, cols, key))

    # -- reads ------------------------------------------------------------------------

    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        # A document's p is its last entry's position; positions are contiguous and
        # a document holds at most ENTRIES_PER_DOCUMENT entries, so the entries
        # after+1 .. after+limit are all in documents with p below this bound.
        below = _int64(after + limit + ENTRIES_PER_DOCUMENT)
        query = {"k": key_id(key), "p": {"$gt": _int64(after), "$lt": below}}
        async with self._collections() as cols:
            cursor = cols.entries.find(query, {"_id": 0, "p": 1, "j": 1}).sort("p", ASCENDING)
            rows = [row async for doc in cursor for row in positioned(doc) if row[0] > after]
        return rows[:limit]

    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        kid = key_id(key)
        async with self._collections() as cols:
            head = await cols.keys.find_one({"_id": kid}, {"last_position": 1})
            if head is None:
                return []
            # Entries appended since the head was read come along: the tail is
            # taken from what the query returns.
            query = {"k": kid, "p": {"$gt": max(int(head["last_position"]) - count, 0)}}
            cursor = cols.entries.find(query, {"_id": 0, "p": 1, "j": 1}).sort("p", ASCENDING)
            rows = [row async for doc in cursor for row in positioned(doc)]
        return rows[-count:]

    async def _count(self, key: SessionKey) -> int:
        # Kept by every append in the same transaction: no scan of the entries.
        async with self._collections() as cols:
            head = await cols.keys.find_one({"_id": key_id(key)}, {"entry_count": 1})
        return int(head["entry_count"]) if head else 0

    async def _sessions(
        self, project_key: str, after: str | None, limit: int | None
    ) -> list[SessionListing]:
        query: Document = {"project_key": project_key, "subpath": _MAIN}
        if after is not None:
            query["session_id"] = {"$gt": after}
        async with self._collections() as cols:
            cursor = cols.keys.find(query, {"_id": 0, "session_id": 1, "mtime": 1}).sort(
                "session_id", ASCENDING
            )
            if limit is not None:
                cursor = cursor.limit(_int64(limit))
            return [SessionListing(doc["session_id"], doc["mtime"]) async for doc in cursor]

    async def _projects(self, after: str | None, limit: int) -> list[str]:
        # distinct, then sorted here: Python orders str by code point as MongoDB orders
        # UTF-8; the result holds project keys only, never entries.
        query: Document = {"subpath": _MAIN}
        if after is not None:
            query["project_key"] = {"$gt": after}
        async with self._collections() as cols:
            projects = await cols.keys.distinct("project_key", query)
        return sorted(str(project) for project in projects)[:limit]

    async def _summaries(self, project_key: str) -> list[SessionSummary]:
        # The listing's index walk; transcripts without a summary (written before a
        # fold was configured) are skipped here rather than by a ``$exists`` filter,
        # which MongoDB would also apply per fetched document.
        query = {"project_key": project_key, "subpath": _MAIN}
        projection = {"_id": 0, "session_id": 1, "summary": 1, "summary_mtime": 1}
        async with self._collections() as cols:
            cursor = cols.keys.find(query, projection).sort("session_id", ASCENDING)
            return [
                SessionSummary(doc["session_id"], doc["summary_mtime"], json.loads(doc["summary"]))
                async for doc in cursor
                if "summary" in doc
            ]

    async def _subkeys(self, key: SessionKey) -> list[str]:
        query = {
            "project_key": key.project_key,
            "session_id": key.session_id,
            "subpath": {"$gt": _MAIN},
        }
        async with self._collections() as cols:
            cursor = cols.keys.find(query, {"_id": 0, "subpath": 1}).sort("subpath", ASCENDING)
            return [doc["subpath"] async for doc in cursor]


async def _unstored(
    cols: Collections,
    kid: str,
    batch: Sequence[EncodedEntry],
    legacy: bool,
    session: AsyncClientSession,
) -> list[EncodedEntry]:
    """The entries of ``batch`` whose uuid is not stored under the transcript yet
    (``legacy``: also look for version 1 entry documents)."""
    ids = [uuid_entry_id(kid, item.uuid) for item in batch if item.uuid is not None]
    if not ids:
        return list(batch)
    cursor = cols.entries.find({"u": {"$in": ids}}, {"_id": 0, "u": 1}, session=session)
    stored = {uuid async for doc in cursor for uuid in doc["u"]}
    if legacy:
        # Two queries, not an $or: each one is an index lookup.
        cursor = cols.entries.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)
        stored.update([doc["_id"] async for doc in cursor])
    return [
        item for item in batch if item.uuid is None or uuid_entry_id(kid, item.uuid) not in stored
    ]


def _stored_uuid(exc: BulkWriteError | DuplicateKeyError) -> bool:
    """Whether an insert failed on the unique ``(k, u)`` index (a uuid stored already)."""
    error = exc.details or {}
    if isinstance(exc, BulkWriteError):
        error = (error.get("writeErrors") or [{}])[0]
    pattern = error.get("keyPattern") or error.get("keyValue") or {}
    return error.get("code") == 11000 and "u" in pattern


async def _delete_in(cols: Collections, key: SessionKey, session: AsyncClientSession) -> None:
    # A main key takes its subkeys along. Deleting the key documents first makes
    # a concurrent append to one of them conflict, so no entry outlives its key.
    if key.is_main:
        query: Document = {"project_key": key.project_key, "session_id": key.session_id}
    else:
        query = {"_id": key_id(key)}
    kids = [doc["_id"] async for doc in cols.keys.find(query, {"_id": 1}, session=session)]
    if not kids:
        await session.abort_transaction()
        return
    await cols.keys.delete_many({"_id": {"$in": kids}}, session=session)
    await cols.entries.delete_many({"k": {"$in": kids}}, session=session)
