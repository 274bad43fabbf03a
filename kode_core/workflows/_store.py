"""The workflow store contract: the state a durable, replayed workflow engine keeps.

Public methods check every argument and encode every value before any I/O (an
:class:`~kode_core.InvalidRecordError` names the argument and nothing is written),
then call the underscore primitives a backend implements, each atomic in its
engine. kode keeps the state; the engine's scheduler and queue are not part of it.
"""

from __future__ import annotations

import abc
import builtins
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._clock import now_ms
from .._errors import InvalidRecordError, NotFoundError
from .._record_codec import check_json
from ..agents._store_extended import DEFAULT_LEASE
from ._checks import (
    MAX_PAGE,
    check_count,
    check_delay,
    check_enum,
    check_id,
    check_optional_id,
    check_time,
    encode_checked,
    run_not_found,
    step_not_found,
)
from ._import import WorkflowImport
from ._lock import RunLock
from ._queries import WorkflowQueries
from ._records import RunStatus, StepClaim, StepState, StepStatus, Wire, WorkflowRun
from ._rows import (
    RESET_ON_NEW_ATTEMPT,
    RunRow,
    StepMatch,
    StepRow,
    StepUpdate,
    run_record,
    step_record,
)

DEFAULT_LOCK_TIMEOUT = 30.0
_CLAIMABLE = (StepStatus.PENDING.value, StepStatus.SCHEDULED.value)


def _fresh_attempt(status: StepStatus, now: int) -> dict[str, Any]:
    changes: dict[str, Any] = dict.fromkeys(RESET_ON_NEW_ATTEMPT)
    changes.update(status=status.value, updated_ms=now)
    if status is StepStatus.RUNNING:
        changes["running_ms"] = now
    return changes


class WorkflowStore(WorkflowImport, WorkflowQueries):
    """Durable workflow runs, their steps, attempts, per-key state, locks and versions.

    Every method raises :class:`~kode_core.InvalidRecordError` for bad input before
    writing anything, :class:`~kode_core.NotFoundError` where it names a run or step
    that is not stored, and :class:`~kode_core.BackendUnavailableError` when the
    engine cannot be reached.
    """

    # -- runs -----------------------------------------------------------------------------

    async def create_run(
        self,
        workflow: str,
        input: Any = None,
        *,
        wire: Wire | Mapping[str, Any] | None = None,
        run_id: str | None = None,
        inline: bool | None = None,
        graph_hash: str | None = None,
        deterministic: bool | None = None,
        planned_steps: Any = None,
    ) -> str:
        """Store a new ``running`` run and return its id (a fresh one unless ``run_id``).

        Raises :class:`~kode_core.ConflictError` if ``run_id`` is already stored.
        """
        workflow = check_id(workflow, "workflow")
        run_id = uuid.uuid4().hex if run_id is None else check_id(run_id, "run_id")
        wire_record = Wire.coerce({"type": "unknown"} if wire is None else wire, "wire")
        for name, flag in (("inline", inline), ("deterministic", deterministic)):
            if flag is not None and not isinstance(flag, bool):
                raise InvalidRecordError(name, f"must be a bool or None, got {flag!r}")
        spec: dict[str, Any] = {"input": check_json(input, "input"), "wire": wire_record.to_dict()}
        extras = {
            "inline": inline,
            "graph_hash": check_optional_id(graph_hash, "graph_hash"),
            "deterministic": deterministic,
            "planned_steps": check_json(planned_steps, "planned_steps"),
        }
        spec.update({key: value for key, value in extras.items() if value is not None})
        now = now_ms()
        text = encode_checked(spec, "input", self._max_bytes)
        row = RunRow(run_id, workflow, RunStatus.RUNNING.value, text, None, None, now, now)
        await self._insert_run(row)
        return run_id

    async def get_run(self, run_id: str) -> WorkflowRun:
        """The run; raises :class:`~kode_core.NotFoundError` if it is not stored."""
        row = await self._get_run(check_id(run_id, "run_id"))
        if row is None:
            raise run_not_found(run_id)
        return run_record(row)

    async def update_run_status(
        self, run_id: str, status: RunStatus | str, *, output: Any = None, error: Any = None
    ) -> None:
        """Set the run's status, and its ``output`` / ``error`` when they are given."""
        run_id = check_id(run_id, "run_id")
        value = check_enum(RunStatus, status, "status")
        out = None if output is None else self._encode(output, "output")
        err = None if error is None else self._encode(error, "error")
        if not await self._update_run_status(run_id, value.value, out, err, now_ms()):
            raise run_not_found(run_id)

    async def get_run_state(self, run_id: str) -> dict[str, Any]:
        """The run's state: every key set by :meth:`update_run_state` (empty if none)."""
        stored = await self._get_state(check_id(run_id, "run_id"))
        return {name: json.loads(text) for name, text in sorted(stored.items())}

    async def update_run_state(self, run_id: str, name: str, value: Any) -> None:
        """Set one key of the run's state, atomically; other keys are left as they are.

        Concurrent writers of different keys never lose each other's keys.
        """
        run_id = check_id(run_id, "run_id")
        name = check_id(name, "name")
        await self._put_state(run_id, name, self._encode(value, "value"))

    async def delete_run(self, run_id: str) -> bool:
        """Delete the run with its steps, attempt history and state; False if none."""
        return await self._delete_run(check_id(run_id, "run_id"))

    async def prune(self) -> int:
        """Delete finished runs last updated more than ``retention_ms`` ago.

        Returns how many runs were purged (with their steps, history and state);
        does nothing and returns 0 when the store keeps every run (``retention_ms=0``).
        """
        if not self._retention_ms:
            return 0
        return await self._prune(now_ms() - self._retention_ms)

    # -- steps ----------------------------------------------------------------------------

    async def insert_step(
        self,
        run_id: str,
        step_name: str,
        *,
        rpc_name: str | None = None,
        data: Any = None,
        retries: int | None = None,
        retry_delay: float | None = None,
        from_step_name: str | None = None,
    ) -> StepState:
        """Store a new ``pending`` step (attempt 1, with its history row).

        ``(run_id, step_name)`` is unique, enforced by the engine: of concurrent
        inserts of one name, every loser raises :class:`~kode_core.ConflictError`.
        """
        now = now_ms()
        row: StepRow = dict.fromkeys(RESET_ON_NEW_ATTEMPT)
        row.update(
            step_id=uuid.uuid4().hex,
            run_id=check_id(run_id, "run_id"),
            step_name=check_id(step_name, "step_name"),
            rpc_name=check_optional_id(rpc_name, "rpc_name"),
            data=self._encode(data, "data"),
            status=StepStatus.PENDING.value,
            attempt_count=1,
            retries=None if retries is None else check_count(retries, "retries"),
            retry_delay=check_delay(retry_delay, "retry_delay"),
            from_step_name=check_optional_id(from_step_name, "from_step_name"),
            child_run_id=None,
            branch_taken=None,
            created_ms=now,
            updated_ms=now,
        )
        await self._insert_step(row)
        return step_record(row)

    async def get_step(self, run_id: str, step_name: str) -> StepState:
        """The step; raises :class:`~kode_core.NotFoundError` if it is not stored."""
        run_id, step_name = check_id(run_id, "run_id"), check_id(step_name, "step_name")
        row = await self._get_step(run_id, step_name)
        if row is None:
            raise NotFoundError(
                f"run {run_id!r} has no step {step_name!r}", run_id=run_id, step_name=step_name
            )
        return step_record(row)

    async def list_steps(self, run_id: str) -> builtins.list[StepState]:
        """Every step of the run, oldest first, read in one query (replay reads once)."""
        return [step_record(row) for row in await self._list_steps(check_id(run_id, "run_id"))]

    async def set_step_running(self, step_id: str) -> StepState:
        """Mark the step running now."""
        now = now_ms()
        return await self._set(step_id, status=StepStatus.RUNNING.value, running_ms=now)

    async def set_step_scheduled(self, step_id: str) -> StepState:
        """Mark the step scheduled (handed to a queue) now."""
        now = now_ms()
        return await self._set(step_id, status=StepStatus.SCHEDULED.value, scheduled_ms=now)

    async def set_step_suspended(self, step_id: str) -> StepState:
        """Mark the step suspended (waiting for an event or a child run)."""
        return await self._set(step_id, status=StepStatus.SUSPENDED.value)

    async def set_step_result(self, step_id: str, result: Any) -> StepState:
        """Store the step's result and mark it succeeded now."""
        text = self._encode(result, "result")
        now = now_ms()
        return await self._set(
            step_id, status=StepStatus.SUCCEEDED.value, result=text, succeeded_ms=now
        )

    async def set_step_error(self, step_id: str, error: Any) -> StepState:
        """Store the step's error and mark it failed now."""
        text = self._encode(error, "error")
        return await self._set(
            step_id, status=StepStatus.FAILED.value, error=text, failed_ms=now_ms()
        )

    async def set_step_child_run_id(self, step_id: str, child_run_id: str) -> StepState:
        """Record the child run the step started."""
        return await self._set(step_id, child_run_id=check_id(child_run_id, "child_run_id"))

    async def set_step_branch_taken(self, step_id: str, branch: str) -> StepState:
        """Record which branch the step (a graph node) took."""
        return await self._set(step_id, branch_taken=check_id(branch, "branch"))

    async def create_retry_attempt(
        self, step_id: str, status: StepStatus | str = StepStatus.PENDING
    ) -> StepState:
        """Start the step's next attempt in ``status`` (pending or running).

        Increments ``attempt_count``, clears result, error and the attempt's times,
        and adds a history row; the step row shows the new attempt.
        """
        step_id = check_id(step_id, "step_id")
        value = check_enum(StepStatus, status, "status")
        if value not in (StepStatus.PENDING, StepStatus.RUNNING):
            raise InvalidRecordError("status", f"must be pending or running, got {value.value!r}")
        update = StepUpdate(_fresh_attempt(value, now_ms()), None, new_attempt=True)
        return await self._apply(StepMatch(step_id=step_id), [update])

    async def claim_step(self, run_id: str, step_name: str) -> StepClaim:
        """Atomically take the step for running, telling the caller whether it won.

        A pending or scheduled step becomes running; a failed step starts a new
        running attempt (a history row is added, result and error are cleared). Of
        any number of concurrent claimers exactly one wins; a step in another
        status is not taken (``won`` is False). Raises
        :class:`~kode_core.NotFoundError` if the step is not stored.
        """
        match = StepMatch(
            run_id=check_id(run_id, "run_id"), step_name=check_id(step_name, "step_name")
        )
        now = now_ms()
        updates = [
            StepUpdate(
                {"status": StepStatus.RUNNING.value, "running_ms": now, "updated_ms": now},
                _CLAIMABLE,
            ),
            StepUpdate(
                _fresh_attempt(StepStatus.RUNNING, now),
                (StepStatus.FAILED.value,),
                new_attempt=True,
            ),
        ]
        outcome = await self._update_step(match, updates)
        if outcome is None:
            raise step_not_found(match)
        won, row = outcome
        return StepClaim(won, step_record(row))

    async def _set(self, step_id: str, **changes: Any) -> StepState:
        step_id = check_id(step_id, "step_id")
        changes["updated_ms"] = now_ms()
        return await self._apply(StepMatch(step_id=step_id), [StepUpdate(changes)])

    async def _apply(self, match: StepMatch, updates: Sequence[StepUpdate]) -> StepState:
        outcome = await self._update_step(match, updates)
        if outcome is None:
            raise step_not_found(match)
        return step_record(outcome[1])

    # -- locks and recovery ------------------------------------------------------------------

    def run_lock(
        self, run_id: str, timeout: float = DEFAULT_LOCK_TIMEOUT, *, lease: float = DEFAULT_LEASE
    ) -> RunLock:
        """An async context manager holding the run's lock across processes.

        It waits up to ``timeout`` seconds (then raises
        :class:`~kode_core.LockTimeoutError`), renews its ``lease`` while held and
        releases on exit; a holder that dies loses the lock when its lease lapses.
        An error raised in the block propagates as itself.
        """
        return RunLock(
            check_id(run_id, "run_id"),
            timeout=timeout,
            lease=lease,
            try_acquire=self._lock_try_acquire,
            renew=self._lock_renew,
            release=self._lock_release,
        )

    async def find_stalled_runs(
        self, before: datetime, limit: int = 100
    ) -> builtins.list[WorkflowRun]:
        """Running runs last updated before ``before``, oldest first (from an index)."""
        before_ms = check_time(before, "before")
        limit = check_count(limit, "limit", minimum=1, maximum=MAX_PAGE)
        return [run_record(row) for row in await self._find_stalled_runs(before_ms, limit)]

    async def find_undispatched_steps(
        self, before: datetime, limit: int = 100
    ) -> builtins.list[StepState]:
        """Pending steps last updated before ``before``, oldest first (from an index)."""
        before_ms = check_time(before, "before")
        limit = check_count(limit, "limit", minimum=1, maximum=MAX_PAGE)
        rows = await self._find_undispatched_steps(before_ms, limit)
        return [step_record(row) for row in rows]

    # -- what a backend implements -------------------------------------------------------------

    @abc.abstractmethod
    async def _insert_run(self, row: RunRow) -> None:
        """Insert the run; ConflictError if its id is stored."""

    @abc.abstractmethod
    async def _get_run(self, run_id: str) -> RunRow | None:
        """The run row, or None."""

    @abc.abstractmethod
    async def _update_run_status(
        self, run_id: str, status: str, output: str | None, error: str | None, updated_ms: int
    ) -> bool:
        """Set status and updated_ms, and output / error where not None; False if no run."""

    @abc.abstractmethod
    async def _get_state(self, run_id: str) -> dict[str, str]:
        """The run's state keys to their JSON texts."""

    @abc.abstractmethod
    async def _put_state(self, run_id: str, name: str, value: str) -> None:
        """Upsert one state key, atomically, touching no other key."""

    @abc.abstractmethod
    async def _delete_run(self, run_id: str) -> bool:
        """Delete the run, its steps, history and state at once; False if no run row."""

    @abc.abstractmethod
    async def _prune(self, before_ms: int) -> int:
        """Delete (as :meth:`_delete_run`) finished runs with updated_ms < before_ms."""

    @abc.abstractmethod
    async def _insert_step(self, row: StepRow) -> None:
        """Insert the step and its first history row; ConflictError if the engine's
        unique index on (run_id, step_name) refuses it."""

    @abc.abstractmethod
    async def _get_step(self, run_id: str, step_name: str) -> StepRow | None:
        """The step row, or None."""

    @abc.abstractmethod
    async def _list_steps(self, run_id: str) -> builtins.list[StepRow]:
        """The run's step rows by (created_ms, step_name), in one query."""

    @abc.abstractmethod
    async def _update_step(
        self, match: StepMatch, updates: Sequence[StepUpdate]
    ) -> tuple[bool, StepRow] | None:
        """Atomically apply the first of ``updates`` that allows the step's status.

        Returns None if no step matches, else ``(applied, row)``: the row after the
        update, or as it stands if none applied. See :func:`~._rows.apply_update`.
        """

    @abc.abstractmethod
    async def _find_stalled_runs(self, before_ms: int, limit: int) -> builtins.list[RunRow]:
        """Running runs with updated_ms < before_ms by (updated_ms, run_id), from an index."""

    @abc.abstractmethod
    async def _find_undispatched_steps(self, before_ms: int, limit: int) -> builtins.list[StepRow]:
        """Pending steps with updated_ms < before_ms by (updated_ms, step_id), from an index."""

    @abc.abstractmethod
    async def _lock_try_acquire(self, run_id: str, owner: str, lease_ms: int) -> int | None:
        """Take the run's lease if free or lapsed: the new fencing token, else None."""

    @abc.abstractmethod
    async def _lock_renew(self, run_id: str, owner: str, lease_ms: int) -> bool:
        """Extend the lease if ``owner`` holds it; False if it does not."""

    @abc.abstractmethod
    async def _lock_release(self, run_id: str, owner: str) -> None:
        """Free the lease if ``owner`` holds it."""
