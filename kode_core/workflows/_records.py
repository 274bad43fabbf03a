"""Records of the workflow store: runs, step states, attempt history, versions.

Times are timezone-aware UTC ``datetime`` values (ISO-8601 in JSON). Every record
keeps keys it does not know in ``extra``, so export and import
round-trip them unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._record_codec import (
    BOOL,
    INT,
    JSON,
    NUMBER,
    OBJECT,
    STR,
    TIME,
    Record,
    choice,
    extra_field,
    field,
    non_negative,
    optional,
)

_OPT_STR = optional(STR)
_OPT_TIME = optional(TIME)
_OPT_INT = optional(non_negative(INT))


class RunStatus(str, enum.Enum):
    """Where a workflow run is in its life."""

    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the statuses a run never leaves (what retention purges)."""
        return self in _FINISHED


_FINISHED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})
#: The values of the finished run statuses, as engines store them.
FINISHED_STATUSES = tuple(sorted(status.value for status in _FINISHED))


class StepStatus(str, enum.Enum):
    """Where a step is in its current attempt."""

    PENDING = "pending"
    RUNNING = "running"
    SCHEDULED = "scheduled"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUSPENDED = "suspended"


class VersionStatus(str, enum.Enum):
    """Whether a workflow graph version may be run."""

    DRAFT = "draft"
    ACTIVE = "active"
    DECLINED = "declined"


@attrs.frozen(kw_only=True)
class Wire(Record):
    """How a run was started: by what ``type`` of wire, and for whom."""

    type: str = field(STR)
    id: str | None = field(_OPT_STR, default=None)
    parent_run_id: str | None = field(_OPT_STR, default=None)
    parent_step_id: str | None = field(_OPT_STR, default=None)
    user_id: str | None = field(_OPT_STR, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class WorkflowRun(Record):
    """One execution of a workflow."""

    id: str = field(STR)
    workflow: str = field(STR)
    status: RunStatus = field(choice(RunStatus))
    input: Any = field(JSON, default=None)
    output: Any = field(JSON, default=None)
    error: Any = field(JSON, default=None)
    inline: bool | None = field(optional(BOOL), default=None)
    graph_hash: str | None = field(_OPT_STR, default=None)
    deterministic: bool | None = field(optional(BOOL), default=None)
    planned_steps: Any = field(optional(JSON), default=None)
    wire: Mapping[str, Any] = field(OBJECT, factory=dict)
    created_at: datetime = field(TIME)
    updated_at: datetime = field(TIME)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class StepState(Record):
    """One step of a run; it always shows its latest attempt (``attempt_count``)."""

    step_id: str = field(STR)
    run_id: str = field(STR)
    step_name: str = field(STR)
    rpc_name: str | None = field(_OPT_STR, default=None)
    data: Any = field(JSON, default=None)
    status: StepStatus = field(choice(StepStatus))
    result: Any = field(JSON, default=None)
    error: Any = field(JSON, default=None)
    attempt_count: int = field(non_negative(INT))
    retries: int | None = field(_OPT_INT, default=None)
    retry_delay: float | None = field(optional(NUMBER), default=None)
    from_step_name: str | None = field(_OPT_STR, default=None)
    child_run_id: str | None = field(_OPT_STR, default=None)
    branch_taken: str | None = field(_OPT_STR, default=None)
    created_at: datetime = field(TIME)
    updated_at: datetime = field(TIME)
    running_at: datetime | None = field(_OPT_TIME, default=None)
    scheduled_at: datetime | None = field(_OPT_TIME, default=None)
    succeeded_at: datetime | None = field(_OPT_TIME, default=None)
    failed_at: datetime | None = field(_OPT_TIME, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class StepAttempt(Record):
    """One attempt of a step, with its own timestamps (``created_at``: when it began)."""

    step_id: str = field(STR)
    run_id: str = field(STR)
    step_name: str = field(STR)
    attempt: int = field(non_negative(INT))
    status: StepStatus = field(choice(StepStatus))
    result: Any = field(JSON, default=None)
    error: Any = field(JSON, default=None)
    created_at: datetime = field(TIME)
    updated_at: datetime = field(TIME)
    running_at: datetime | None = field(_OPT_TIME, default=None)
    scheduled_at: datetime | None = field(_OPT_TIME, default=None)
    succeeded_at: datetime | None = field(_OPT_TIME, default=None)
    failed_at: datetime | None = field(_OPT_TIME, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class WorkflowVersion(Record):
    """One graph of a workflow, by its hash."""

    workflow_name: str = field(STR)
    graph_hash: str = field(STR)
    graph: Any = field(JSON, default=None)
    source: str | None = field(_OPT_STR, default=None)
    status: VersionStatus = field(choice(VersionStatus))
    created_at: datetime = field(TIME)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class StepClaim:
    """What :meth:`~kode_core.WorkflowStore.claim_step` tells its caller.

    ``won`` is true for exactly one of any number of concurrent claimers; ``step``
    is the step as it stands after the claim (the winner's attempt, for everyone).
    """

    won: bool
    step: StepState
