"""The MongoDB session store: transcripts as one document per entry, appended in transactions."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession

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
from .schema import SESSIONS, Collections, key_id, position_entry_id, uuid_entry_id

_MAIN = ""  # the stored subpath of a main transcript (an empty subpath is invalid input)
_INT64_MAX = 2**63 - 1  # BSON's largest integer: positions and limits never exceed it


def _int64(value: int) -> int:
    return min(value, _INT64_MAX)


class MongoSessionStore(SessionStore):
    """Session transcripts in one database's ``<namespace>.session_*`` collections.

    Each append is one transaction that also writes the transcript's key
    document, so concurrent appends to one transcript (from any process) conflict
    in the engine and are retried one after the other, and a uuid is stored at
    most once per transcript (its entry ``_id`` is unique as well).
    """

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: SessionOptions
    ) -> None:
        check_entry_limit(settings.max_entry_bytes)
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend.schema_in(options.database), SESSIONS)
        self._database = options.database

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
            yield Collections.of(db, self.namespace)

    # -- writes -----------------------------------------------------------------------

    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        async with self._collections() as cols:
            await self._backend.transaction(functools.partial(self._append_in, cols, key, batch))

    async def _append_in(
        self,
        cols: Collections,
        key: SessionKey,
        batch: Sequence[EncodedEntry],
        session: AsyncClientSession,
    ) -> None:
        kid = key_id(key)
        # The transaction's snapshot starts with this read. The key document is
        # written last; if another append wrote it since the snapshot (or is
        # writing it now), that write conflicts and this attempt starts over.
        head = await cols.keys.find_one(
            {"_id": kid}, {"last_position": 1, "summary": 1, "summary_mtime": 1}, session=session
        )
        fresh = await _unstored(cols, kid, batch, session)
        if not fresh:
            # A retried batch: leave the transcript (and its mtime) untouched.
            await session.abort_transaction()
            return
        # After the snapshot: later than every append committed before it, and
        # earlier than any append that commits after this one.
        mtime = now_ms()
        last = int(head["last_position"]) if head else 0
        previous = (head["summary_mtime"], head["summary"]) if head and "summary" in head else None
        summary = self.fold_summary(key, previous, fresh)
        await cols.entries.insert_many(
            [_entry_document(kid, last + offset, item) for offset, item in enumerate(fresh, 1)],
            ordered=True,
            session=session,
        )
        update: Document = {"last_position": last + len(fresh), "mtime": mtime}
        if summary is not None:
            update |= {"summary": summary, "summary_mtime": mtime}
        await cols.keys.update_one(
            {"_id": kid},
            {
                "$set": update,
                "$inc": {"entry_count": len(fresh)},
                "$setOnInsert": {
                    "project_key": key.project_key,
                    "session_id": key.session_id,
                    "subpath": key.subpath or _MAIN,
                },
            },
            upsert=True,
            session=session,
        )

    async def _delete(self, key: SessionKey) -> None:
        async with self._collections() as cols:
            await self._backend.transaction(functools.partial(_delete_in, cols, key))

    # -- reads ------------------------------------------------------------------------

    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        async with self._collections() as cols:
            cursor = (
                cols.entries.find(
                    {"k": key_id(key), "p": {"$gt": _int64(after)}}, {"_id": 0, "p": 1, "j": 1}
                )
                .sort("p", ASCENDING)
                .limit(_int64(limit))
            )
            return [(doc["p"], doc["j"]) async for doc in cursor]

    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        async with self._collections() as cols:
            cursor = (
                cols.entries.find({"k": key_id(key)}, {"_id": 0, "p": 1, "j": 1})
                .sort("p", DESCENDING)
                .limit(_int64(count))
            )
            rows = [(doc["p"], doc["j"]) async for doc in cursor]
        rows.reverse()
        return rows

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
    cols: Collections, kid: str, batch: Sequence[EncodedEntry], session: AsyncClientSession
) -> list[EncodedEntry]:
    """The entries of ``batch`` whose uuid is not stored under the transcript yet."""
    ids = [uuid_entry_id(kid, item.uuid) for item in batch if item.uuid is not None]
    if not ids:
        return list(batch)
    cursor = cols.entries.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)
    stored = {doc["_id"] async for doc in cursor}
    return [
        item for item in batch if item.uuid is None or uuid_entry_id(kid, item.uuid) not in stored
    ]


def _entry_document(kid: str, position: int, item: EncodedEntry) -> Document:
    entry_id = (
        uuid_entry_id(kid, item.uuid) if item.uuid is not None else position_entry_id(kid, position)
    )
    # JSON text, not BSON: BSON has no integers beyond 64 bits and restricts keys
    # with '.' or a leading '$'; the text round-trips every JSON value exactly.
    return {"_id": entry_id, "k": kid, "p": position, "j": item.text}


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
