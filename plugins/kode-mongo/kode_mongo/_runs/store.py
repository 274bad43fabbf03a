"""The run store in MongoDB: a document per run, per approval and per score."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from kode_core import ConflictError
from kode_core.runs import ApprovalRow, RunMerge, RunOptions, RunRow, RunStore, StoredRun

from .._backend import MongoBackend
from .._options import MongoOptions, check_entry_limit
from .._threads.access import ConversationAccess, load_run, load_thread_runs
from .._threads.schema import RUNS, ConversationCollections


def _approval_document(a: ApprovalRow) -> dict[str, object]:
    return {
        "_id": a.tool_call_id,
        "run": a.run_id,
        "p": a.position,
        "j": a.body,
        "d": a.decision,
        "m": a.resolved_ms,
    }


async def _add_approvals(
    cols: ConversationCollections, approvals: Sequence[ApprovalRow], session: AsyncClientSession
) -> None:
    if not approvals:
        return
    ids = [a.tool_call_id for a in approvals]
    taken = await cols.approvals.find_one({"_id": {"$in": ids}}, {"run": 1}, session=session)
    if taken is not None:
        raise ConflictError(
            f"tool call {taken['_id']!r} is stored for run {taken['run']!r}",
            tool_call_id=taken["_id"],
        )
    await cols.approvals.insert_many([_approval_document(a) for a in approvals], session=session)


class MongoRunStore(RunStore):
    """Runs in MongoDB. A claim is one ``update_one`` of the approval's document on the
    condition that its decision is still null: the engine applies it for one caller
    only. Creating and updating a run are transactions."""

    def __init__(self, backend: MongoBackend, options: MongoOptions, settings: RunOptions) -> None:
        check_entry_limit(settings.max_entry_bytes)
        super().__init__(options, settings)
        self._use_schema(backend.schema_in(options.database), RUNS)
        self._access = ConversationAccess(backend, options.database, options.namespace, RUNS)

    def __repr__(self) -> str:
        return f"<MongoRunStore database={self._access.database!r} namespace={self.namespace!r}>"

    async def _insert_run(self, row: RunRow, approvals: Sequence[ApprovalRow]) -> None:
        async def work(cols: ConversationCollections, session: AsyncClientSession) -> None:
            if await cols.runs.find_one({"_id": row.run_id}, {"_id": 1}, session=session):
                raise ConflictError(f"run {row.run_id!r} exists", run_id=row.run_id)
            await cols.runs.insert_one(
                {
                    "_id": row.run_id,
                    "t": row.thread_id,
                    "r": row.resource_id,
                    "a": row.agent_name,
                    "s": row.status,
                    "c": row.created_ms,
                    "u": row.updated_ms,
                    "j": row.body,
                },
                session=session,
            )
            await _add_approvals(cols, approvals, session)

        await self._access.transaction(work)

    async def _update_run(
        self, run_id: str, merge: RunMerge, approvals: Sequence[ApprovalRow] | None
    ) -> StoredRun | None:
        async def work(
            cols: ConversationCollections, session: AsyncClientSession
        ) -> StoredRun | None:
            found = await cols.runs.find_one({"_id": run_id}, {"j": 1}, session=session)
            if found is None:
                return None
            row = merge(found["j"])
            await cols.runs.update_one(
                {"_id": run_id},
                {"$set": {"s": row.status, "u": row.updated_ms, "j": row.body}},
                session=session,
            )
            if approvals is not None:
                ids = [a.tool_call_id for a in approvals]
                await cols.approvals.delete_many(
                    {"run": run_id, "$or": [{"d": None}, {"_id": {"$in": ids}}]}, session=session
                )
                await _add_approvals(cols, approvals, session)
            return await load_run(cols, run_id, session)

        return await self._access.transaction(work)

    async def _load_run(self, run_id: str) -> StoredRun | None:
        async with self._access.collections() as cols:
            return await load_run(cols, run_id)

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        async with self._access.collections() as cols:
            return await load_thread_runs(cols, thread_id)

    async def _pending_run(self, tool_call_id: str) -> StoredRun | None:
        async with self._access.collections() as cols:
            found = await cols.approvals.find_one({"_id": tool_call_id, "d": None}, {"run": 1})
            return None if found is None else await load_run(cols, found["run"])

    async def _claim_approval(self, tool_call_id: str, decision: str, resolved_ms: int) -> bool:
        async with self._access.collections() as cols:
            done = await cols.approvals.update_one(
                {"_id": tool_call_id, "d": None}, {"$set": {"d": decision, "m": resolved_ms}}
            )
        return done.modified_count == 1

    async def _append_score(self, run_id: str, created_ms: int, body: str) -> None:
        async def work(cols: ConversationCollections, session: AsyncClientSession) -> None:
            counter = await cols.counters.find_one_and_update(
                {"_id": run_id},
                {"$inc": {"n": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            seq = 1 if counter is None else counter["n"]  # an upsert returns the document
            await cols.scores.insert_one(
                {"run": run_id, "q": seq, "c": created_ms, "j": body}, session=session
            )

        await self._access.transaction(work)

    async def _scores(self, run_id: str) -> builtins.list[str]:
        async with self._access.collections() as cols:
            cursor = cols.scores.find({"run": run_id}, {"j": 1}).sort("q", ASCENDING)
            return [doc["j"] async for doc in cursor]
