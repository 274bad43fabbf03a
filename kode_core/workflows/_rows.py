"""The rows a workflow store keeps in its engine, and how they become records.

Engines store these flat shapes (columns, document fields, hash fields) and never
look inside the JSON texts; the contract encodes and decodes them. A step row and
an attempt-history row have the same columns (:data:`STEP_COLUMNS`): the history
row of attempt *n* is the step as it stood during attempt *n*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from ._records import (
    RunStatus,
    StepAttempt,
    StepState,
    StepStatus,
    VersionStatus,
    WorkflowRun,
    WorkflowVersion,
)

#: Every column of a step row and of an attempt-history row, in table order.
#: ``data``, ``result`` and ``error`` hold JSON text; ``*_ms`` epoch milliseconds.
STEP_COLUMNS = (
    "step_id",
    "run_id",
    "step_name",
    "rpc_name",
    "data",
    "status",
    "result",
    "error",
    "attempt_count",
    "retries",
    "retry_delay",
    "from_step_name",
    "child_run_id",
    "branch_taken",
    "created_ms",
    "updated_ms",
    "running_ms",
    "scheduled_ms",
    "succeeded_ms",
    "failed_ms",
)
#: A step (or attempt) row: :data:`STEP_COLUMNS` to their values.
StepRow = dict[str, Any]
#: The columns a new attempt starts afresh (besides ``status`` and ``updated_ms``).
RESET_ON_NEW_ATTEMPT = (
    "result",
    "error",
    "running_ms",
    "scheduled_ms",
    "succeeded_ms",
    "failed_ms",
)


@attrs.frozen
class RunRow:
    """One run: ``spec`` is the JSON of what it was created with (input, wire...)."""

    run_id: str
    workflow: str
    status: str
    spec: str
    output: str | None
    error: str | None
    created_ms: int
    updated_ms: int


@attrs.frozen
class VersionRow:
    """One workflow version; ``graph`` is JSON text."""

    workflow_name: str
    graph_hash: str
    graph: str
    source: str | None
    status: str
    created_ms: int


@attrs.frozen
class StepMatch:
    """Which step an update is for: by ``step_id``, or by ``(run_id, step_name)``."""

    step_id: str | None = None
    run_id: str | None = None
    step_name: str | None = None

    @property
    def by_id(self) -> bool:
        return self.step_id is not None


@attrs.frozen
class StepUpdate:
    """A conditional change of a step row and of its current attempt's history row.

    Applies only if the step's status is in ``from_statuses`` (any status if None).
    With ``new_attempt``, ``attempt_count`` goes up by one first and a history row
    for the new attempt is added: the step row after the change, with ``created_ms``
    set to ``changes["updated_ms"]``.
    """

    changes: Mapping[str, Any]
    from_statuses: tuple[str, ...] | None = None
    new_attempt: bool = False

    def allows(self, status: str) -> bool:
        return self.from_statuses is None or status in self.from_statuses


def pick_update(updates: Sequence[StepUpdate], status: str) -> StepUpdate | None:
    """The first of ``updates`` that applies to a step in ``status`` (engines use this)."""
    return next((update for update in updates if update.allows(status)), None)


def apply_update(row: StepRow, update: StepUpdate) -> tuple[StepRow, StepRow | None]:
    """``row`` after ``update``, and the new attempt's history row if it starts one."""
    after = dict(row)
    if update.new_attempt:
        after["attempt_count"] = row["attempt_count"] + 1
    after.update(update.changes)
    if not update.new_attempt:
        return after, None
    return after, {**after, "created_ms": update.changes["updated_ms"]}


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, timezone.utc)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def run_record(row: RunRow) -> WorkflowRun:
    """The record of a stored run row."""
    spec = json.loads(row.spec)
    return WorkflowRun(
        id=row.run_id,
        workflow=row.workflow,
        status=RunStatus(row.status),
        input=spec.get("input"),
        output=_json(row.output),
        error=_json(row.error),
        inline=spec.get("inline"),
        graph_hash=spec.get("graph_hash"),
        deterministic=spec.get("deterministic"),
        planned_steps=spec.get("planned_steps"),
        wire=spec.get("wire", {}),
        created_at=_at(row.created_ms),
        updated_at=_at(row.updated_ms),
    )


def step_record(row: Mapping[str, Any]) -> StepState:
    """The record of a stored step row."""
    delay = row["retry_delay"]
    return StepState(
        step_id=row["step_id"],
        run_id=row["run_id"],
        step_name=row["step_name"],
        rpc_name=row["rpc_name"],
        data=_json(row["data"]),
        status=StepStatus(row["status"]),
        result=_json(row["result"]),
        error=_json(row["error"]),
        attempt_count=int(row["attempt_count"]),
        retries=None if row["retries"] is None else int(row["retries"]),
        retry_delay=None if delay is None else float(delay),
        from_step_name=row["from_step_name"],
        child_run_id=row["child_run_id"],
        branch_taken=row["branch_taken"],
        created_at=_at(int(row["created_ms"])),
        updated_at=_at(int(row["updated_ms"])),
        running_at=_time(row["running_ms"]),
        scheduled_at=_time(row["scheduled_ms"]),
        succeeded_at=_time(row["succeeded_ms"]),
        failed_at=_time(row["failed_ms"]),
    )


def attempt_record(row: Mapping[str, Any]) -> StepAttempt:
    """The record of a stored attempt-history row."""
    return StepAttempt(
        step_id=row["step_id"],
        run_id=row["run_id"],
        step_name=row["step_name"],
        attempt=int(row["attempt_count"]),
        status=StepStatus(row["status"]),
        result=_json(row["result"]),
        error=_json(row["error"]),
        created_at=_at(int(row["created_ms"])),
        updated_at=_at(int(row["updated_ms"])),
        running_at=_time(row["running_ms"]),
        scheduled_at=_time(row["scheduled_ms"]),
        succeeded_at=_time(row["succeeded_ms"]),
        failed_at=_time(row["failed_ms"]),
    )


def version_record(row: VersionRow) -> WorkflowVersion:
    """The record of a stored version row."""
    return WorkflowVersion(
        workflow_name=row.workflow_name,
        graph_hash=row.graph_hash,
        graph=json.loads(row.graph),
        source=row.source,
        status=VersionStatus(row.status),
        created_at=_at(row.created_ms),
    )
