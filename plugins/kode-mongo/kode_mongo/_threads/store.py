"""The thread store in MongoDB: one document per thread and per message."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from kode_core import ConflictError
from kode_core.runs import StoredRun
from kode_core.threads import MessageRow, ThreadOptions, ThreadQuery, ThreadRow, ThreadStore

from .._backend import MongoBackend
from .._options import MongoOptions, check_entry_limit
from .access import ConversationAccess, load_thread_runs
from .schema import THREADS, ConversationCollections


def _row(doc: dict[str, Any]) -> ThreadRow:
    return ThreadRow(doc["_id"], doc["r"], doc["c"], doc["u"], doc["j"])


_NEWEST = [("u", DESCENDING), ("_id", DESCENDING)]


class MongoThreadStore(ThreadStore):
    """Threads in MongoDB. Appending is a transaction that first advances the thread's
    ``n`` counter, so one thread's appenders conflict and run one after the other;
    deleting a thread removes its messages, runs, approvals and scores in one
    transaction."""

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: ThreadOptions
    ) -> None:
        check_entry_limit(settings.max_entry_bytes)
        super().__init__(options, settings)
        self._use_schema(backend.schema_in(options.database), THREADS)
        self._access = ConversationAccess(backend, options.database, options.namespace, THREADS)

    def __repr__(self) -> str:
        return f"<MongoThreadStore database={self._access.database!r} namespace={self.namespace!r}>"

    async def _insert_thread(self, row: ThreadRow) -> None:
        async with self._access.collections() as cols:
            done = await cols.threads.update_one(
                {"_id": row.id},
                {
                    "$setOnInsert": {
                        "r": row.resource_id,
                        "c": row.created_ms,
                        "u": row.updated_ms,
                        "n": 0,
                        "j": row.body,
                    }
                },
                upsert=True,
            )
        if done.upserted_id is None:
            raise ConflictError(f"thread {row.id!r} exists", thread_id=row.id)

    async def _load_thread(self, thread_id: str) -> ThreadRow | None:
        async with self._access.collections() as cols:
            doc = await cols.threads.find_one({"_id": thread_id})
        return None if doc is None else _row(doc)

    async def _resource_threads(self, resource_id: str) -> builtins.list[ThreadRow]:
        async with self._access.collections() as cols:
            return [_row(doc) async for doc in cols.threads.find({"r": resource_id}).sort(_NEWEST)]

    async def _delete_thread(self, thread_id: str) -> bool:
        async def work(cols: ConversationCollections, session: AsyncClientSession) -> bool:
            found = await cols.threads.delete_one({"_id": thread_id}, session=session)
            await cols.messages.delete_many({"t": thread_id}, session=session)
            await cols.memory.delete_one({"_id": {"s": "thread", "i": thread_id}}, session=session)
            runs = [
                doc["_id"]
                async for doc in cols.runs.find({"t": thread_id}, {"_id": 1}, session=session)
            ]
            if runs:
                await cols.approvals.delete_many({"run": {"$in": runs}}, session=session)
                await cols.scores.delete_many({"run": {"$in": runs}}, session=session)
                await cols.counters.delete_many({"_id": {"$in": runs}}, session=session)
                await cols.runs.delete_many({"t": thread_id}, session=session)
            return found.deleted_count == 1

        return await self._access.transaction(work)

    async def _load_messages(
        self, thread_id: str, last_n: int | None, before: str | None
    ) -> builtins.list[str] | None:
        # A thread's seqs are 1..n without gaps (appends number only the messages they
        # store), so a page is a bounded range of the (t, q) index, not a sort.
        async with self._access.collections() as cols:
            if before is not None:
                found = await cols.messages.find_one({"t": thread_id, "i": before}, {"q": 1})
                if found is None:
                    return None
                end = found["q"]
            else:
                thread = await cols.threads.find_one({"_id": thread_id}, {"n": 1})
                end = 1 if thread is None else thread["n"] + 1
            start = 1 if last_n is None else max(1, end - last_n)
            if start >= end:
                return []
            condition = {"t": thread_id, "q": {"$gte": start, "$lt": end}}
            cursor = cols.messages.find(condition, {"j": 1}).sort("q", ASCENDING)
            return [doc["j"] async for doc in cursor]

    async def _append_messages(
        self, thread_id: str, rows: Sequence[MessageRow], updated_ms: int
    ) -> bool:
        async def work(cols: ConversationCollections, session: AsyncClientSession) -> bool:
            ids = [row.id for row in rows]
            stored = {
                doc["i"]
                async for doc in cols.messages.find(
                    {"t": thread_id, "i": {"$in": ids}}, {"i": 1}, session=session
                )
            }
            fresh: list[MessageRow] = []
            for row in rows:
                if row.id not in stored:
                    stored.add(row.id)
                    fresh.append(row)
            # Advancing the counter is the write every appender of this thread makes:
            # a concurrent one conflicts here and retries after this one commits.
            thread = await cols.threads.find_one_and_update(
                {"_id": thread_id},
                {"$inc": {"n": len(fresh)}, "$max": {"u": updated_ms}},
                projection={"n": 1},
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
            if thread is None:
                return False
            if fresh:
                await cols.messages.insert_many(
                    [
                        {
                            "t": thread_id,
                            "q": thread["n"] + i,
                            "i": row.id,
                            "c": row.created_ms,
                            "j": row.body,
                        }
                        for i, row in enumerate(fresh, start=1)
                    ],
                    session=session,
                )
            return True

        return await self._access.transaction(work)

    async def _load_memory(self, scope: str, id: str) -> str | None:
        async with self._access.collections() as cols:
            doc = await cols.memory.find_one({"_id": {"s": scope, "i": id}})
        return None if doc is None else str(doc["j"])

    async def _save_memory(self, scope: str, id: str, body: str, updated_ms: int) -> None:
        async with self._access.collections() as cols:
            await cols.memory.update_one(
                {"_id": {"s": scope, "i": id}}, {"$set": {"u": updated_ms, "j": body}}, upsert=True
            )

    async def _all_memory(self) -> builtins.list[tuple[str, str, str]]:
        async with self._access.collections() as cols:
            found = [doc async for doc in cols.memory.find({})]
        return sorted((doc["_id"]["s"], doc["_id"]["i"], doc["j"]) for doc in found)

    async def _list_threads(self, query: ThreadQuery) -> builtins.list[ThreadRow]:
        condition: list[dict[str, Any]] = []
        async with self._access.collections() as cols:
            if query.resource_id is not None:
                condition.append({"r": query.resource_id})
            if query.owners is not None:
                condition.append(
                    {
                        "$or": [
                            clause
                            for owner in query.owners
                            for clause in (
                                {"r": owner.exact},
                                {"r": {"$gte": owner.low, "$lt": owner.high}},
                            )
                        ]
                    }
                )
            if query.agent_name is not None:
                threads = await cols.runs.distinct("t", {"a": query.agent_name})
                condition.append({"_id": {"$in": threads}})
            match = {"$and": condition} if condition else {}
            cursor = cols.threads.find(match).sort(_NEWEST).skip(query.offset).limit(query.limit)
            return [_row(doc) async for doc in cursor]

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        async with self._access.collections() as cols:
            return await load_thread_runs(cols, thread_id)

    async def _agent_names(self) -> builtins.list[str]:
        async with self._access.collections() as cols:
            names = await cols.runs.distinct("a")
        return sorted(str(name) for name in names)
