"""The ``memory`` backend's workflow store: the executable reference of the contract."""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence

import attrs

from .._errors import ConflictError
from .._options import BackendOptions
from ..memory import MemoryBackend
from ._import import ImportRows
from ._options import WorkflowOptions
from ._records import FINISHED_STATUSES, RunStatus, StepStatus
from ._rows import RunRow, StepMatch, StepRow, StepUpdate, VersionRow, apply_update, pick_update
from ._store import WorkflowStore

#: The memory backend's layout has one version: there is nothing stored to migrate.
SCHEMA_VERSION = 1


@attrs.define
class _Lease:
    owner: str | None = None
    expires: float = 0.0
    token: int = 0


@attrs.define
class WorkflowData:
    """One namespace's workflow state, in dictionaries."""

    runs: dict[str, RunRow] = attrs.Factory(dict)
    state: dict[str, dict[str, str]] = attrs.Factory(dict)
    steps: dict[str, StepRow] = attrs.Factory(dict)
    step_ids: dict[tuple[str, str], str] = attrs.Factory(dict)
    history: dict[tuple[str, int], StepRow] = attrs.Factory(dict)
    versions: dict[tuple[str, str], VersionRow] = attrs.Factory(dict)
    leases: dict[str, _Lease] = attrs.Factory(dict)


class MemoryWorkflowStore(WorkflowStore):
    """Workflow state in dictionaries of this process.

    No primitive awaits between reading and writing, so each is atomic on the event
    loop; the lock works between tasks of this process only. Queries scan (this is
    the reference, not a production engine).
    """

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: WorkflowOptions
    ) -> None:
        super().__init__(options, settings)
        self._data = backend.namespace_data("workflows", options.namespace, WorkflowData)

    def __repr__(self) -> str:
        return f"<MemoryWorkflowStore namespace={self.namespace!r}>"

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _migrate(self) -> None:
        pass  # nothing outlives the process

    # -- runs ----------------------------------------------------------------------------

    async def _insert_run(self, row: RunRow) -> None:
        if row.run_id in self._data.runs:
            raise ConflictError(f"workflow run {row.run_id!r} exists", run_id=row.run_id)
        self._data.runs[row.run_id] = row

    async def _get_run(self, run_id: str) -> RunRow | None:
        return self._data.runs.get(run_id)

    async def _update_run_status(
        self, run_id: str, status: str, output: str | None, error: str | None, updated_ms: int
    ) -> bool:
        row = self._data.runs.get(run_id)
        if row is None:
            return False
        self._data.runs[run_id] = attrs.evolve(
            row,
            status=status,
            output=row.output if output is None else output,
            error=row.error if error is None else error,
            updated_ms=updated_ms,
        )
        return True

    async def _get_state(self, run_id: str) -> dict[str, str]:
        return dict(self._data.state.get(run_id, {}))

    async def _put_state(self, run_id: str, name: str, value: str) -> None:
        self._data.state.setdefault(run_id, {})[name] = value

    async def _delete_run(self, run_id: str) -> bool:
        data = self._data
        found = data.runs.pop(run_id, None) is not None
        data.state.pop(run_id, None)
        for key in [key for key in data.step_ids if key[0] == run_id]:
            step_id = data.step_ids.pop(key)
            row = data.steps.pop(step_id)
            for attempt in range(1, row["attempt_count"] + 1):
                data.history.pop((step_id, attempt), None)
        return found

    async def _prune(self, before_ms: int) -> int:
        doomed = [
            row.run_id
            for row in self._data.runs.values()
            if row.status in FINISHED_STATUSES and row.updated_ms < before_ms
        ]
        for run_id in doomed:
            await self._delete_run(run_id)
        return len(doomed)

    async def _list_runs(
        self, workflow: str | None, status: str | None, limit: int, offset: int
    ) -> builtins.list[RunRow]:
        rows = [
            row
            for row in self._data.runs.values()
            if (workflow is None or row.workflow == workflow)
            and (status is None or row.status == status)
        ]
        rows.sort(key=lambda row: (row.created_ms, row.run_id), reverse=True)
        return rows[offset : offset + limit]

    async def _distinct_workflows(self) -> builtins.list[str]:
        return sorted({row.workflow for row in self._data.runs.values()})

    async def _find_stalled_runs(self, before_ms: int, limit: int) -> builtins.list[RunRow]:
        rows = [
            row
            for row in self._data.runs.values()
            if row.status == RunStatus.RUNNING.value and row.updated_ms < before_ms
        ]
        rows.sort(key=lambda row: (row.updated_ms, row.run_id))
        return rows[:limit]

    # -- steps ----------------------------------------------------------------------------

    async def _insert_step(self, row: StepRow) -> None:
        key = (row["run_id"], row["step_name"])
        if key in self._data.step_ids:
            raise ConflictError(
                f"run {key[0]!r} already has a step {key[1]!r}", run_id=key[0], step_name=key[1]
            )
        self._data.step_ids[key] = row["step_id"]
        self._data.steps[row["step_id"]] = dict(row)
        self._data.history[(row["step_id"], row["attempt_count"])] = dict(row)

    async def _get_step(self, run_id: str, step_name: str) -> StepRow | None:
        step_id = self._data.step_ids.get((run_id, step_name))
        return None if step_id is None else dict(self._data.steps[step_id])

    async def _list_steps(self, run_id: str) -> builtins.list[StepRow]:
        rows = [dict(row) for row in self._data.steps.values() if row["run_id"] == run_id]
        rows.sort(key=lambda row: (row["created_ms"], row["step_name"]))
        return rows

    async def _update_step(
        self, match: StepMatch, updates: Sequence[StepUpdate]
    ) -> tuple[bool, StepRow] | None:
        data = self._data
        if match.step_id is not None:
            step_id: str | None = match.step_id
        else:
            step_id = data.step_ids.get((str(match.run_id), str(match.step_name)))
        row = None if step_id is None else data.steps.get(step_id)
        if row is None:
            return None
        update = pick_update(updates, row["status"])
        if update is None:
            return False, dict(row)
        after, new_attempt = apply_update(row, update)
        data.steps[after["step_id"]] = after
        if new_attempt is not None:
            data.history[(after["step_id"], after["attempt_count"])] = new_attempt
        else:
            current = data.history[(after["step_id"], after["attempt_count"])]
            current.update(update.changes)
        return True, dict(after)

    async def _list_history(self, run_id: str) -> builtins.list[StepRow]:
        rows = [dict(row) for row in self._data.history.values() if row["run_id"] == run_id]
        rows.sort(key=lambda row: (row["created_ms"], row["attempt_count"], row["step_name"]))
        return rows

    async def _find_undispatched_steps(self, before_ms: int, limit: int) -> builtins.list[StepRow]:
        rows = [
            dict(row)
            for row in self._data.steps.values()
            if row["status"] == StepStatus.PENDING.value and row["updated_ms"] < before_ms
        ]
        rows.sort(key=lambda row: (row["updated_ms"], row["step_id"]))
        return rows[:limit]

    async def _import_run(self, rows: ImportRows) -> bool:
        data = self._data
        if rows.run.run_id in data.runs:
            return False
        for step in rows.steps:
            if (
                step["step_id"] in data.steps
                or (step["run_id"], step["step_name"]) in data.step_ids
            ):
                raise ConflictError(
                    f"a step of run {step['run_id']!r} is stored already (its id or its name)",
                    run_id=step["run_id"],
                )
        data.runs[rows.run.run_id] = rows.run
        if rows.state:
            data.state[rows.run.run_id] = dict(rows.state)
        for step in rows.steps:
            data.steps[step["step_id"]] = dict(step)
            data.step_ids[(step["run_id"], step["step_name"])] = step["step_id"]
        for attempt in rows.history:
            data.history[(attempt["step_id"], attempt["attempt_count"])] = dict(attempt)
        return True

    # -- versions -------------------------------------------------------------------------

    async def _insert_version(self, row: VersionRow) -> None:
        self._data.versions.setdefault((row.workflow_name, row.graph_hash), row)

    async def _set_version_status(self, workflow_name: str, graph_hash: str, status: str) -> bool:
        row = self._data.versions.get((workflow_name, graph_hash))
        if row is None:
            return False
        self._data.versions[(workflow_name, graph_hash)] = attrs.evolve(row, status=status)
        return True

    async def _get_version(self, workflow_name: str, graph_hash: str) -> VersionRow | None:
        return self._data.versions.get((workflow_name, graph_hash))

    # -- the lock -------------------------------------------------------------------------

    async def _lock_try_acquire(self, run_id: str, owner: str, lease_ms: int) -> int | None:
        lease = self._data.leases.setdefault(run_id, _Lease())
        now = time.monotonic()
        if lease.owner is not None and lease.expires > now:
            return None
        lease.owner, lease.expires = owner, now + lease_ms / 1000
        lease.token += 1
        return lease.token

    async def _lock_renew(self, run_id: str, owner: str, lease_ms: int) -> bool:
        lease = self._data.leases.get(run_id)
        if lease is None or lease.owner != owner:
            return False
        lease.expires = time.monotonic() + lease_ms / 1000
        return True

    async def _lock_release(self, run_id: str, owner: str) -> None:
        lease = self._data.leases.get(run_id)
        if lease is not None and lease.owner == owner:
            lease.owner = None
