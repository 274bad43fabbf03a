"""What the ``mongo`` thread and run stores share: collections, transactions, run reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession

from kode_core.runs import ApprovalRow, StoredRun

from .._backend import MongoBackend
from .._schema import MongoSchema
from .schema import ConversationCollections

_T = TypeVar("_T")
Session = AsyncClientSession | None


def approval_row(doc: dict[str, Any]) -> ApprovalRow:
    return ApprovalRow(doc["_id"], doc["run"], doc["p"], doc.get("j"), doc.get("d"), doc.get("m"))


async def load_run(
    cols: ConversationCollections, run_id: str, session: Session = None
) -> StoredRun | None:
    found = await cols.runs.find_one({"_id": run_id}, {"j": 1}, session=session)
    if found is None:
        return None
    rows = [
        approval_row(doc) async for doc in cols.approvals.find({"run": run_id}, session=session)
    ]
    return StoredRun(found["j"], rows)


async def load_thread_runs(
    cols: ConversationCollections, thread_id: str, session: Session = None
) -> list[StoredRun]:
    runs = [
        (doc["_id"], doc["j"])
        async for doc in cols.runs.find({"t": thread_id}, {"j": 1}, session=session).sort(
            [("c", DESCENDING), ("_id", DESCENDING)]
        )
    ]
    ids = [run_id for run_id, _ in runs]
    by_run: dict[str, list[ApprovalRow]] = {run_id: [] for run_id in ids}
    async for doc in cols.approvals.find({"run": {"$in": ids}}, session=session).sort(
        "p", ASCENDING
    ):
        by_run[doc["run"]].append(approval_row(doc))
    return [StoredRun(body, by_run[run_id]) for run_id, body in runs]


class ConversationAccess:
    """One namespace's collections in one database, and transactions over them."""

    def __init__(
        self,
        backend: MongoBackend,
        database: str,
        namespace: str,
        component: MongoSchema,
    ) -> None:
        self.backend = backend
        self.database = database
        self.namespace = namespace
        self.component = component

    @asynccontextmanager
    async def collections(self) -> AsyncIterator[ConversationCollections]:
        async with self.backend.database(self.database, self.namespace, self.component) as db:
            yield ConversationCollections.of(db, self.namespace)

    async def transaction(
        self, work: Callable[[ConversationCollections, AsyncClientSession], Awaitable[_T]]
    ) -> _T:
        async with self.collections() as cols:

            async def run(session: AsyncClientSession) -> _T:
                return await work(cols, session)

            return await self.backend.transaction(run)
