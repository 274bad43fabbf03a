"""The MongoDB agent store: one document per record, every agent write a transaction."""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pymongo import ASCENDING, DeleteMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import OperationFailure

from kode_core.agents import (
    AgentOptions,
    AgentStats,
    Doc,
    DocFamily,
    ExtendedAgentStore,
    InfoRow,
    MessageQuery,
    MessageRow,
    SessionQuery,
    StoredRowState,
    ToolCallQuery,
    ToolCallRow,
    event_conflict,
    plan_replace,
)

from .. import _leases as leases
from .._backend import MongoBackend
from .._options import MongoOptions, check_entry_limit
from .._schema import Collection, Document
from .queries import (
    int64,
    message_filter,
    prefix_filter,
    session_filter,
    tool_call_filter,
)
from .schema import (
    AGENTS,
    AgentCollections,
    doc_document,
    info_document,
    message_document,
    tool_call_document,
)

_T = TypeVar("_T")
_KEEP = object()  # a replace that leaves the message list's token alone (tool calls)
_Row = TypeVar("_Row", MessageRow, ToolCallRow)
Work = Callable[[AgentCollections, AsyncClientSession], Awaitable[_T]]
_NAMESPACE_NOT_FOUND = 26  # collStats of a collection that does not exist (older servers)


class MongoAgentStore(ExtendedAgentStore):
    """Agent runtime state in one database's ``<namespace>.agent*`` collections.

    Every write is one transaction that first increments the agent's ``agents``
    document, so writers of one agent (in any process) conflict in the engine and
    run one after the other: a replace never mixes two saves, a delete or fork
    never sees half a write. The lock is a lease document on the server's clock.
    """

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: AgentOptions
    ) -> None:
        check_entry_limit(settings.max_entry_bytes)
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend.schema_in(options.database), AGENTS)
        self._database = options.database

    def __repr__(self) -> str:
        return (
            f"<MongoAgentStore {self._backend.address} database={self._database!r} "
            f"namespace={self.namespace!r}>"
        )

    @property
    def database(self) -> str:
        """The MongoDB database this store reads and writes."""
        return self._database

    @asynccontextmanager
    async def _collections(self) -> AsyncIterator[AgentCollections]:
        async with self._backend.database(self._database, self.namespace, AGENTS) as db:
            yield AgentCollections.of(db, self.namespace)

    async def _write(self, agent_id: str, work: Work[_T], fields: Document | None = None) -> _T:
        """Run ``work`` in a transaction that first marks the agent as written (and sets
        ``fields`` of its agents document)."""
        mark: Document = {"$inc": {"rev": 1}}
        if fields:
            mark["$set"] = fields
        async with self._collections() as cols:

            async def run(session: AsyncClientSession) -> _T:
                # The first write of the transaction: a concurrent writer of this agent
                # that wrote it too conflicts here or at its own write, and retries.
                await cols.agents.update_one({"_id": agent_id}, mark, upsert=True, session=session)
                return await work(cols, session)

            return await self._backend.transaction(run)

    # -- messages and tool calls: replace by plan ---------------------------------------

    _patches_messages = True

    async def _save_messages(
        self,
        agent_id: str,
        rows: Sequence[MessageRow],
        *,
        base: str | None,
        token: str | None,
        length: int,
    ) -> int | None:
        if base is None:
            return await self._replace(
                agent_id, rows, lambda cols: cols.messages, "p", message_document, token
            )

        async def run(cols: AgentCollections, session: AsyncClientSession) -> int | None:
            # The first write of the transaction, only while the list's token ("mt") is
            # the one this store set: a concurrent writer conflicts here and retries.
            marked = await cols.agents.update_one(
                {"_id": agent_id, "mt": base},
                {"$inc": {"rev": 1}, "$set": {"mt": token}},
                session=session,
            )
            if not marked.matched_count:
                return None  # another store wrote the list since: the core replaces it
            ops: list[Any] = [
                UpdateOne(
                    {"a": agent_id, "p": row.position}, {"$set": message_document(row)}, upsert=True
                )
                for row in rows
            ]
            ops.append(DeleteMany({"a": agent_id, "p": {"$gte": length}}))
            result = await cols.messages.bulk_write(ops, ordered=True, session=session)
            return len(rows) + result.deleted_count

        async with self._collections() as cols:
            return await self._backend.transaction(lambda session: run(cols, session))

    async def _replace_messages(self, agent_id: str, rows: Sequence[MessageRow]) -> int:
        return await self._replace(
            agent_id, rows, lambda cols: cols.messages, "p", message_document, None
        )

    async def _load_messages(self, agent_id: str) -> builtins.list[str]:
        return await self._bodies(lambda cols: cols.messages, {"a": agent_id}, [("p", ASCENDING)])

    async def _replace_tool_calls(self, agent_id: str, rows: Sequence[ToolCallRow]) -> int:
        return await self._replace(
            agent_id, rows, lambda cols: cols.tool_calls, "i", tool_call_document, _KEEP
        )

    async def _replace(
        self,
        agent_id: str,
        rows: Sequence[_Row],
        collection: Callable[[AgentCollections], Collection],
        key_field: str,
        document: Callable[[_Row], Document],
        token: object,
    ) -> int:
        """Apply :func:`~kode_core.agents.plan_replace` in the agent's transaction: read the
        stored ``key_field``, digest and first-stored time, bulk-write only the plan; set
        the list's token ``mt`` to ``token`` (messages), or leave it (``_KEEP``)."""

        async def work(cols: AgentCollections, session: AsyncClientSession) -> int:
            rows_of = collection(cols)
            cursor = rows_of.find(
                {"a": agent_id}, {"_id": 0, key_field: 1, "d": 1, "c": 1}, session=session
            )
            existing: dict[object, StoredRowState] = {
                doc[key_field]: StoredRowState(doc["d"], doc["c"]) async for doc in cursor
            }
            plan = plan_replace(existing, rows)
            ops: list[Any] = [
                UpdateOne({"a": agent_id, key_field: row.key}, {"$set": document(row)}, upsert=True)
                for row in plan.upserts
            ]
            if plan.deletes:
                ops.append(DeleteMany({"a": agent_id, key_field: {"$in": plan.deletes}}))
            if ops:
                await rows_of.bulk_write(ops, ordered=True, session=session)
            return plan.write_count

        return await self._write(agent_id, work, None if token is _KEEP else {"mt": token})

    async def _load_tool_calls(self, agent_id: str) -> builtins.list[str]:
        return await self._bodies(lambda cols: cols.tool_calls, {"a": agent_id}, [("p", ASCENDING)])

    # -- documents ------------------------------------------------------------------------

    async def _put_doc(self, agent_id: str, family: DocFamily, doc: Doc) -> None:
        async def work(cols: AgentCollections, session: AsyncClientSession) -> None:
            await cols.docs.update_one(
                {"a": agent_id, "f": family.value, "k": doc.key},
                {"$set": {"s": doc.sort_ms, "j": doc.body}},
                upsert=True,
                session=session,
            )

        await self._write(agent_id, work)

    async def _replace_docs(self, agent_id: str, family: DocFamily, docs: Sequence[Doc]) -> None:
        async def work(cols: AgentCollections, session: AsyncClientSession) -> None:
            await cols.docs.delete_many({"a": agent_id, "f": family.value}, session=session)
            if docs:
                await cols.docs.insert_many(
                    [doc_document(agent_id, family.value, doc) for doc in docs],
                    ordered=True,
                    session=session,
                )

        await self._write(agent_id, work)

    async def _get_doc(self, agent_id: str, family: DocFamily, key: str) -> str | None:
        async with self._collections() as cols:
            found = await cols.docs.find_one(
                {"a": agent_id, "f": family.value, "k": key}, {"_id": 0, "j": 1}
            )
        return None if found is None else str(found["j"])

    async def _list_docs(self, agent_id: str, family: DocFamily) -> builtins.list[str]:
        return await self._bodies(
            lambda cols: cols.docs,
            {"a": agent_id, "f": family.value},
            [("s", ASCENDING), ("k", ASCENDING)],
        )

    async def _bodies(
        self,
        collection: Callable[[AgentCollections], Collection],
        spec: Document,
        sort: list[tuple[str, int]],
    ) -> builtins.list[str]:
        async with self._collections() as cols:
            cursor = collection(cols).find(spec, {"_id": 0, "j": 1}).sort(sort)
            return [doc["j"] async for doc in cursor]

    # -- events -------------------------------------------------------------------------

    async def _append_event(self, agent_id: str, seq: int, channel: str, body: str) -> None:
        async def work(cols: AgentCollections, session: AsyncClientSession) -> None:
            # Inside the transaction, so a concurrent append of the same seq either
            # conflicts (and this one retries, then finds it) or is found here.
            found = await cols.events.find_one(
                {"a": agent_id, "q": seq}, {"_id": 0, "j": 1}, session=session
            )
            if found is None:
                await cols.events.insert_one(
                    {"a": agent_id, "q": seq, "ch": channel, "j": body}, session=session
                )
                return
            await session.abort_transaction()  # stored already: write nothing
            if found["j"] != body:
                raise event_conflict(agent_id, seq)

        await self._write(agent_id, work)

    async def _read_events(
        self, agent_id: str, after: int, channel: str | None, limit: int
    ) -> builtins.list[tuple[int, str]]:
        spec = _events_after(agent_id, after, channel)
        async with self._collections() as cols:
            cursor = (
                cols.events.find(spec, {"_id": 0, "q": 1, "j": 1})
                .sort("q", ASCENDING)
                .limit(int64(limit))
            )
            return [(doc["q"], doc["j"]) async for doc in cursor]

    async def _event_pages(
        self, agent_id: str, after: int, channel: str | None, page_size: int
    ) -> AsyncGenerator[builtins.list[str], None]:
        # One cursor, a batch per page: a query per page is planned and scanned again on
        # SecantusDB (10,000 events in 20 pages: ~6 s against ~0.5-0.9 s for one cursor).
        async with self._collections() as cols:
            cursor = (
                cols.events.find(_events_after(agent_id, after, channel), {"_id": 0, "j": 1})
                .sort("q", ASCENDING)
                .batch_size(page_size)
            )
            try:
                while page := await cursor.to_list(page_size):
                    yield [doc["j"] for doc in page]
            finally:
                await cursor.close()

    # -- info and lifecycle ---------------------------------------------------------------

    async def _save_info(self, row: InfoRow) -> None:
        async def work(cols: AgentCollections, session: AsyncClientSession) -> None:
            await cols.info.replace_one(
                {"_id": row.agent_id}, info_document(row), upsert=True, session=session
            )

        await self._write(row.agent_id, work)

    async def _load_info(self, agent_id: str) -> str | None:
        async with self._collections() as cols:
            found = await cols.info.find_one({"_id": agent_id}, {"_id": 0, "j": 1})
        return None if found is None else str(found["j"])

    async def _exists(self, agent_id: str) -> bool:
        # Every write transaction upserts the agents document, and delete removes it
        # in the transaction that removes the rest: it exists iff anything does.
        async with self._collections() as cols:
            return await cols.agents.find_one({"_id": agent_id}, {"_id": 1}) is not None

    async def _delete_agent(self, agent_id: str) -> None:
        async def work(cols: AgentCollections, session: AsyncClientSession) -> None:
            # The agents document first: a concurrent writer of the agent conflicts on it.
            deleted = await cols.agents.delete_one({"_id": agent_id}, session=session)
            if not deleted.deleted_count:
                await session.abort_transaction()
                return
            await cols.info.delete_one({"_id": agent_id}, session=session)
            for collection in (cols.messages, cols.tool_calls, cols.docs, cols.events):
                await collection.delete_many({"a": agent_id}, session=session)

        async with self._collections() as cols:
            await self._backend.transaction(lambda session: work(cols, session))

    async def _list_agents(self, prefix: str | None) -> builtins.list[str]:
        async with self._collections() as cols:
            cursor = cols.agents.find(prefix_filter(prefix), {"_id": 1}).sort("_id", ASCENDING)
            ids = [str(doc["_id"]) async for doc in cursor]
        return [agent_id for agent_id in ids if prefix is None or agent_id.startswith(prefix)]

    async def _fork(self, source: str, targets: Sequence[InfoRow]) -> None:
        async def work(cols: AgentCollections, session: AsyncClientSession) -> None:
            # One snapshot: every family is read as of the same moment.
            families = {}
            for collection in (cols.messages, cols.tool_calls, cols.docs, cols.events):
                cursor = collection.find({"a": source}, {"_id": 0}, session=session)
                families[collection.name] = (collection, [doc async for doc in cursor])
            for target in targets:
                await cols.agents.update_one(
                    {"_id": target.agent_id}, {"$inc": {"rev": 1}}, upsert=True, session=session
                )
                for collection, docs in families.values():
                    if docs:
                        await collection.insert_many(
                            [{**doc, "a": target.agent_id} for doc in docs],
                            ordered=True,
                            session=session,
                        )
                await cols.info.replace_one(
                    {"_id": target.agent_id}, info_document(target), upsert=True, session=session
                )

        async with self._collections() as cols:
            await self._backend.transaction(lambda session: work(cols, session))

    # -- queries and statistics -------------------------------------------------------------

    async def _query_sessions(self, query: SessionQuery) -> builtins.list[str]:
        spec, sort = session_filter(query)
        docs = await self._page(lambda cols: cols.info, spec, sort, query.offset, query.limit)
        return [doc["j"] for doc in docs]

    async def _query_messages(
        self, query: MessageQuery
    ) -> builtins.list[tuple[str, int, str, int]]:
        spec, sort = message_filter(query)
        docs = await self._page(lambda cols: cols.messages, spec, sort, query.offset, query.limit)
        return [(doc["a"], doc["p"], doc["j"], doc["c"]) for doc in docs]

    async def _query_tool_calls(self, query: ToolCallQuery) -> builtins.list[tuple[str, str]]:
        spec, sort = tool_call_filter(query)
        docs = await self._page(lambda cols: cols.tool_calls, spec, sort, query.offset, query.limit)
        return [(doc["a"], doc["j"]) for doc in docs]

    async def _page(
        self,
        collection: Callable[[AgentCollections], Collection],
        spec: Document,
        sort: list[tuple[str, int]],
        offset: int,
        limit: int,
    ) -> builtins.list[Document]:
        if limit == 0:
            return []  # MongoDB reads limit(0) as "no limit"
        async with self._collections() as cols:
            cursor = collection(cols).find(spec).sort(sort).skip(int64(offset)).limit(int64(limit))
            return [doc async for doc in cursor]

    async def _stats(self, agent_id: str) -> AgentStats:
        async with self._collections() as cols:
            messages = await cols.messages.count_documents({"a": agent_id})
            snapshots = await cols.docs.count_documents(
                {"a": agent_id, "f": DocFamily.SNAPSHOTS.value}
            )
            by_name = await _counts_by(cols.tool_calls, agent_id, "n")
            by_state = await _counts_by(cols.tool_calls, agent_id, "s")
        return AgentStats(agent_id, messages, sum(by_name.values()), snapshots, by_name, by_state)

    # -- health and metrics -----------------------------------------------------------------

    async def _ping(self) -> None:
        await self._backend.ping()

    async def _storage_bytes(self) -> int | None:
        # collStats of each agent collection: data plus indexes, as the engine counts them.
        total = 0
        async with self._collections() as cols:
            database = cols.agents.database
            for collection in (*cols.agent_data, cols.locks):
                try:
                    stats = await database.command("collStats", collection.name)
                except OperationFailure as exc:
                    if exc.code != _NAMESPACE_NOT_FOUND:
                        raise
                    continue
                total += int(stats.get("storageSize", 0)) + int(stats.get("totalIndexSize", 0))
        return total

    # -- the lock ---------------------------------------------------------------------------

    async def _lock_try_acquire(self, agent_id: str, owner: str, lease_ms: int) -> int | None:
        async with self._collections() as cols:
            return await leases.try_acquire(cols.locks, agent_id, owner, lease_ms)

    async def _lock_renew(self, agent_id: str, owner: str, lease_ms: int) -> bool:
        async with self._collections() as cols:
            return await leases.renew(cols.locks, agent_id, owner, lease_ms)

    async def _lock_release(self, agent_id: str, owner: str) -> None:
        async with self._collections() as cols:
            await leases.release(cols.locks, agent_id, owner)


async def _counts_by(collection: Collection, agent_id: str, field: str) -> dict[str, int]:
    pipeline: list[Document] = [
        {"$match": {"a": agent_id}},
        {"$group": {"_id": f"${field}", "n": {"$sum": 1}}},
    ]
    cursor = await collection.aggregate(pipeline)
    return {str(doc["_id"]): int(doc["n"]) async for doc in cursor}


def _events_after(agent_id: str, after: int, channel: str | None) -> Document:
    """The filter of an agent's events with ``seq > after``, in ``channel`` if given."""
    spec: Document = {"a": agent_id, "q": {"$gt": int64(after)}}
    if channel is not None:
        spec["ch"] = channel
    return spec
