"""The MongoDB workflow store: one document per run, step (with its attempts) and state key."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from kode_core import ConflictError
from kode_core.workflows import (
    FINISHED_STATUSES,
    STEP_COLUMNS,
    ImportRows,
    RunRow,
    StepMatch,
    StepRow,
    StepUpdate,
    VersionRow,
    WorkflowOptions,
    WorkflowStore,
    apply_update,
    pick_update,
)

from .. import _leases as leases
from .._backend import MongoBackend
from .._options import MongoOptions, check_entry_limit
from .._schema import Document
from .schema import WORKFLOWS, WorkflowCollections

#: The columns of an embedded attempt row (the step's id, run and name are the parent's).
ATTEMPT_FIELDS = (
    "attempt_count", "status", "result", "error", "created_ms", "updated_ms", "running_ms",
    "scheduled_ms", "succeeded_ms", "failed_ms",
)  # fmt: skip
#: Compare-and-set step changes lost to concurrent writers of the step before giving up.
MAX_TRIES = 1000
_NO_ATTEMPTS = {"attempts": 0, "rev": 0}


def _run(doc: Document) -> RunRow:
    return RunRow(
        doc["_id"], doc["workflow"], doc["status"], doc["spec"], doc.get("output"),
        doc.get("error"), int(doc["created_ms"]), int(doc["updated_ms"]),
    )  # fmt: skip


def _run_doc(row: RunRow) -> Document:
    return {
        "_id": row.run_id, "workflow": row.workflow, "status": row.status, "spec": row.spec,
        "output": row.output, "error": row.error, "created_ms": row.created_ms,
        "updated_ms": row.updated_ms,
    }  # fmt: skip


def _duplicate(exc: BulkWriteError) -> bool:
    return all(error.get("code") == 11000 for error in exc.details.get("writeErrors", [{}]))


def _step(doc: Mapping[str, Any]) -> StepRow:
    row = {column: doc.get(column) for column in STEP_COLUMNS}
    row["step_id"] = doc["_id"]
    return row


def _attempt(row: StepRow) -> Document:
    return {field: row[field] for field in ATTEMPT_FIELDS}


class MongoWorkflowStore(WorkflowStore):
    """Workflow state in one database's ``<namespace>.wf_*`` collections.

    ``(run_id, step_name)`` is a unique index: of racing inserts the engine refuses
    all but one. A step embeds its attempt history, and every change of it is a
    compare-and-set on its ``rev``: a claimer reads the step, decides with the core's
    :func:`~kode_core.workflows.pick_update`, and writes only if no one wrote in
    between (else it reads again), so of concurrent claimers exactly one wins. A state
    key is one document, merged by an upsert. The run lock is a lease document on the
    server's clock.
    """

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: WorkflowOptions
    ) -> None:
        check_entry_limit(settings.max_entry_bytes)
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend.schema_in(options.database), WORKFLOWS)
        self._database = options.database

    def __repr__(self) -> str:
        return (
            f"<MongoWorkflowStore {self._backend.address} database={self._database!r} "
            f"namespace={self.namespace!r}>"
        )

    @asynccontextmanager
    async def _collections(self) -> AsyncIterator[WorkflowCollections]:
        async with self._backend.database(self._database, self.namespace, WORKFLOWS) as db:
            yield WorkflowCollections.of(db, self.namespace)

    # -- runs ----------------------------------------------------------------------------

    async def _insert_run(self, row: RunRow) -> None:
        async with self._collections() as cols:
            try:
                await cols.runs.insert_one(_run_doc(row))
            except DuplicateKeyError:  # caught before the backend translates it
                raise ConflictError(
                    f"workflow run {row.run_id!r} exists", run_id=row.run_id
                ) from None

    async def _get_run(self, run_id: str) -> RunRow | None:
        async with self._collections() as cols:
            doc = await cols.runs.find_one({"_id": run_id})
        return None if doc is None else _run(doc)

    async def _update_run_status(
        self, run_id: str, status: str, output: str | None, error: str | None, updated_ms: int
    ) -> bool:
        fields: Document = {"status": status, "updated_ms": updated_ms}
        if output is not None:
            fields["output"] = output
        if error is not None:
            fields["error"] = error
        async with self._collections() as cols:
            result = await cols.runs.update_one({"_id": run_id}, {"$set": fields})
        return result.matched_count == 1

    async def _get_state(self, run_id: str) -> dict[str, str]:
        async with self._collections() as cols:
            docs = await cols.state.find({"r": run_id}).to_list()
        return {doc["_id"]["n"]: doc["v"] for doc in docs}

    async def _put_state(self, run_id: str, name: str, value: str) -> None:
        async with self._collections() as cols:
            await cols.state.update_one(
                {"_id": {"r": run_id, "n": name}},
                {"$set": {"r": run_id, "v": value}},
                upsert=True,
            )

    async def _delete_run(self, run_id: str) -> bool:
        async with self._collections() as cols:

            async def work(session: AsyncClientSession) -> bool:
                await cols.steps.delete_many({"run_id": run_id}, session=session)
                await cols.state.delete_many({"r": run_id}, session=session)
                result = await cols.runs.delete_one({"_id": run_id}, session=session)
                return result.deleted_count == 1

            return await self._backend.transaction(work)

    async def _prune(self, before_ms: int) -> int:
        async with self._collections() as cols:
            found = cols.runs.find(
                {"status": {"$in": list(FINISHED_STATUSES)}, "updated_ms": {"$lt": before_ms}},
                {"_id": 1},
            )
            ids = [doc["_id"] for doc in await found.to_list()]
        purged = 0
        for run_id in ids:
            purged += await self._delete_run(run_id)
        return purged

    async def _list_runs(
        self, workflow: str | None, status: str | None, limit: int, offset: int
    ) -> builtins.list[RunRow]:
        query: Document = {}
        if workflow is not None:
            query["workflow"] = workflow
        if status is not None:
            query["status"] = status
        async with self._collections() as cols:
            cursor = cols.runs.find(query).sort([("created_ms", DESCENDING), ("_id", DESCENDING)])
            docs = await cursor.skip(offset).limit(limit).to_list()
        return [_run(doc) for doc in docs]

    async def _distinct_workflows(self) -> builtins.list[str]:
        async with self._collections() as cols:
            names = await cols.runs.distinct("workflow")
        return sorted(names)

    async def _find_stalled_runs(self, before_ms: int, limit: int) -> builtins.list[RunRow]:
        async with self._collections() as cols:
            cursor = cols.runs.find({"status": "running", "updated_ms": {"$lt": before_ms}})
            cursor = cursor.sort([("updated_ms", ASCENDING), ("_id", ASCENDING)]).limit(limit)
            docs = await cursor.to_list()
        return [_run(doc) for doc in docs]

    # -- steps ----------------------------------------------------------------------------

    async def _insert_step(self, row: StepRow) -> None:
        doc: Document = {column: row[column] for column in STEP_COLUMNS if column != "step_id"}
        doc.update(_id=row["step_id"], rev=0, attempts=[_attempt(row)])
        async with self._collections() as cols:
            try:
                await cols.steps.insert_one(doc)
            except DuplicateKeyError:  # the unique (run_id, step_name) index
                raise ConflictError(
                    f"run {row['run_id']!r} already has a step {row['step_name']!r}",
                    run_id=row["run_id"],
                    step_name=row["step_name"],
                ) from None

    async def _import_run(self, rows: ImportRows) -> bool:
        run = rows.run
        attempts: dict[str, builtins.list[StepRow]] = {}
        for row in sorted(rows.history, key=lambda row: row["attempt_count"]):
            attempts.setdefault(row["step_id"], []).append(row)
        steps = []
        for row in rows.steps:
            doc: Document = {column: row[column] for column in STEP_COLUMNS if column != "step_id"}
            history = [_attempt(attempt) for attempt in attempts.get(row["step_id"], [])]
            doc.update(_id=row["step_id"], rev=0, attempts=history)
            steps.append(doc)
        state = [  # upserts: state may be set for a run id before the run is stored
            UpdateOne(
                {"_id": {"r": run.run_id, "n": name}},
                {"$set": {"r": run.run_id, "v": value}},
                upsert=True,
            )
            for name, value in rows.state.items()
        ]
        async with self._collections() as cols:

            async def work(session: AsyncClientSession) -> bool:
                if await cols.runs.find_one({"_id": run.run_id}, {"_id": 1}, session=session):
                    await session.abort_transaction()
                    return False
                await cols.runs.insert_one(_run_doc(run), session=session)
                if steps:
                    await cols.steps.insert_many(steps, session=session)
                if state:
                    await cols.state.bulk_write(state, session=session)
                return True

            try:
                return await self._backend.transaction(work)
            except (DuplicateKeyError, BulkWriteError) as exc:
                if isinstance(exc, BulkWriteError) and not _duplicate(exc):
                    raise
                # A step id or (run_id, step_name) stored already: nothing was.
                raise ConflictError(
                    f"a step of run {run.run_id!r} is stored already (its id or its name)",
                    run_id=run.run_id,
                ) from None

    async def _get_step(self, run_id: str, step_name: str) -> StepRow | None:
        async with self._collections() as cols:
            doc = await cols.steps.find_one(
                {"run_id": run_id, "step_name": step_name}, _NO_ATTEMPTS
            )
        return None if doc is None else _step(doc)

    async def _list_steps(self, run_id: str) -> builtins.list[StepRow]:
        async with self._collections() as cols:
            cursor = cols.steps.find({"run_id": run_id}, _NO_ATTEMPTS)
            docs = await cursor.sort(
                [("created_ms", ASCENDING), ("step_name", ASCENDING)]
            ).to_list()
        return [_step(doc) for doc in docs]

    async def _update_step(
        self, match: StepMatch, updates: Sequence[StepUpdate]
    ) -> tuple[bool, StepRow] | None:
        if match.by_id:
            query: Document = {"_id": match.step_id}
        else:
            query = {"run_id": match.run_id, "step_name": match.step_name}
        async with self._collections() as cols:
            for _ in range(MAX_TRIES):
                doc = await cols.steps.find_one(query)
                if doc is None:
                    return None
                row = _step(doc)
                update = pick_update(updates, row["status"])
                if update is None:
                    return False, row
                after, new_attempt = apply_update(row, update)
                changed = {column: after[column] for column in update.changes}
                change: Document = {"$set": {**changed, "rev": doc["rev"] + 1}}
                if new_attempt is not None:
                    change["$set"]["attempt_count"] = after["attempt_count"]
                    change["$push"] = {"attempts": _attempt(new_attempt)}
                else:
                    last = f"attempts.{len(doc['attempts']) - 1}"
                    change["$set"].update(
                        {f"{last}.{k}": v for k, v in changed.items() if k in ATTEMPT_FIELDS}
                    )
                result = await cols.steps.update_one({"_id": doc["_id"], "rev": doc["rev"]}, change)
                if result.matched_count == 1:
                    return True, after
        raise ConflictError(
            f"step {query} kept changing over {MAX_TRIES} tries to update it; nothing was stored"
        )

    async def _list_history(self, run_id: str) -> builtins.list[StepRow]:
        async with self._collections() as cols:
            docs = await cols.steps.find({"run_id": run_id}).to_list()
        rows = [{**_step(doc), **attempt} for doc in docs for attempt in doc.get("attempts", [])]
        return sorted(
            rows, key=lambda row: (row["created_ms"], row["attempt_count"], row["step_name"])
        )

    async def _find_undispatched_steps(self, before_ms: int, limit: int) -> builtins.list[StepRow]:
        async with self._collections() as cols:
            cursor = cols.steps.find(
                {"status": "pending", "updated_ms": {"$lt": before_ms}}, _NO_ATTEMPTS
            )
            cursor = cursor.sort([("updated_ms", ASCENDING), ("_id", ASCENDING)]).limit(limit)
            docs = await cursor.to_list()
        return [_step(doc) for doc in docs]

    # -- versions -------------------------------------------------------------------------

    async def _insert_version(self, row: VersionRow) -> None:
        fields = {"graph": row.graph, "source": row.source, "status": row.status,
                  "created_ms": row.created_ms}  # fmt: skip
        key = {"w": row.workflow_name, "h": row.graph_hash}
        async with self._collections() as cols:
            # A concurrent upsert that stored it first makes this the same no-op.
            with suppress(DuplicateKeyError):
                await cols.versions.update_one({"_id": key}, {"$setOnInsert": fields}, upsert=True)

    async def _set_version_status(self, workflow_name: str, graph_hash: str, status: str) -> bool:
        async with self._collections() as cols:
            result = await cols.versions.update_one(
                {"_id": {"w": workflow_name, "h": graph_hash}}, {"$set": {"status": status}}
            )
        return result.matched_count == 1

    async def _get_version(self, workflow_name: str, graph_hash: str) -> VersionRow | None:
        async with self._collections() as cols:
            doc = await cols.versions.find_one({"_id": {"w": workflow_name, "h": graph_hash}})
        if doc is None:
            return None
        return VersionRow(workflow_name, graph_hash, doc["graph"], doc.get("source"),
                          doc["status"], int(doc["created_ms"]))  # fmt: skip

    # -- the run lock ---------------------------------------------------------------------

    async def _lock_try_acquire(self, run_id: str, owner: str, lease_ms: int) -> int | None:
        async with self._collections() as cols:
            return await leases.try_acquire(cols.locks, run_id, owner, lease_ms)

    async def _lock_renew(self, run_id: str, owner: str, lease_ms: int) -> bool:
        async with self._collections() as cols:
            return await leases.renew(cols.locks, run_id, owner, lease_ms)

    async def _lock_release(self, run_id: str, owner: str) -> None:
        async with self._collections() as cols:
            await leases.release(cols.locks, run_id, owner)
