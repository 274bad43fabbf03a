"""Records of agent runs: a run's state, its pending approvals (three kinds), its scores.

Times are timezone-aware UTC ``datetime`` values (ISO-8601 in JSON; epoch
milliseconds are accepted on the way in). Unknown keys are kept in ``extra`` and
round-trip unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Union

import attrs

from .._clock import now_ms
from .._errors import InvalidRecordError
from .._record_codec import (
    INT,
    JSON,
    NUMBER,
    OBJECT,
    STR,
    TIME,
    UTC,
    Codec,
    Record,
    choice,
    const,
    extra_field,
    field,
    list_of,
    non_negative,
    optional,
    record,
    stored_reader,
)

_OPT_STR = optional(STR)


def utc_now() -> datetime:
    """Now, in UTC, at the millisecond precision every engine stores."""
    return datetime.fromtimestamp(now_ms() / 1000, UTC)


class RunStatus(str, enum.Enum):
    """Where a run is in its life."""

    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class SuspendReason(str, enum.Enum):
    """Why a suspended run waits."""

    APPROVAL = "approval"
    CREDENTIAL = "credential"
    RPC_MISSING = "rpc-missing"


class CredentialType(str, enum.Enum):
    """How a requested credential is obtained."""

    OAUTH2 = "oauth2"
    APIKEY = "apikey"


class ApprovalDecision(str, enum.Enum):
    """What :meth:`~kode_core.runs.RunStore.resolve_approval` records."""

    APPROVED = "approved"
    DENIED = "denied"


@attrs.frozen(kw_only=True)
class ToolApproval(Record):
    """A tool call waiting for a person to approve it."""

    tool_call_id: str = field(STR)
    tool_name: str = field(STR)
    args: Any = field(JSON, default=None)
    type: str = field(const("tool-call"), default="tool-call")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentCallApproval(Record):
    """A call to a sub-agent waiting for approval, shown as ``display_tool_name``."""

    tool_call_id: str = field(STR)
    agent_name: str = field(STR)
    agent_run_id: str = field(STR)
    display_tool_name: str = field(STR)
    display_args: Any = field(JSON, default=None)
    type: str = field(const("agent-call"), default="agent-call")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CredentialApproval(Record):
    """A tool call waiting for a credential (``connect_url`` is where to grant it)."""

    tool_call_id: str = field(STR)
    tool_name: str = field(STR)
    credential_name: str = field(STR)
    credential_type: CredentialType = field(choice(CredentialType))
    args: Any = field(JSON, default=None)
    connect_url: str | None = field(_OPT_STR, default=None)
    type: str = field(const("credential-request"), default="credential-request")
    extra: Mapping[str, Any] = extra_field()


#: A pending approval of any of the three kinds.
PendingApproval = Union[ToolApproval, AgentCallApproval, CredentialApproval]  # noqa: UP007

_APPROVAL_KINDS: dict[str, type[Record]] = {
    "tool-call": ToolApproval,
    "agent-call": AgentCallApproval,
    "credential-request": CredentialApproval,
}


def _decode_approval(value: Any, path: str) -> Any:
    if isinstance(value, (ToolApproval, AgentCallApproval, CredentialApproval)):
        return type(value).coerce(value, path)
    if not isinstance(value, Mapping):
        raise InvalidRecordError(path, f"must be a JSON object, got {type(value).__name__}")
    kind = _APPROVAL_KINDS.get(value.get("type"))  # type: ignore[arg-type]
    if kind is None:
        kinds = ", ".join(_APPROVAL_KINDS)
        raise InvalidRecordError(
            f"{path}.type", f"must be one of {kinds}, got {value.get('type')!r}"
        )
    return kind.coerce(value, path)


def _stored_approval(value: Any) -> Any:
    return stored_reader(_APPROVAL_KINDS[value["type"]])(value)


APPROVAL = Codec(_decode_approval, lambda value: value.to_dict(), _stored_approval)


def approval_from_dict(data: object, path: str = "approval") -> PendingApproval:
    """A pending approval of the kind its ``type`` names; :class:`InvalidRecordError` if none."""
    approval: PendingApproval = _decode_approval(data, path)
    return approval


@attrs.frozen(kw_only=True)
class ResolvedApproval(Record):
    """A decision :meth:`~kode_core.runs.RunStore.resolve_approval` recorded."""

    tool_call_id: str = field(STR)
    decision: ApprovalDecision = field(choice(ApprovalDecision))
    resolved_at: datetime = field(TIME, factory=utc_now)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class RunUsage(Record):
    """Tokens a run used, and the model it ran on."""

    input_tokens: int = field(non_negative(INT), default=0)
    output_tokens: int = field(non_negative(INT), default=0)
    model: str = field(STR, default="")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Run(Record):
    """One agent run on a thread.

    ``pending_approvals`` are the approvals still waiting; a decision made with
    ``resolve_approval`` moves one to ``resolved_approvals``.
    """

    run_id: str = field(STR)
    agent_name: str = field(STR)
    thread_id: str = field(STR)
    resource_id: str = field(STR)
    status: RunStatus = field(choice(RunStatus))
    usage: RunUsage = field(record(RunUsage), factory=RunUsage)
    error_message: str | None = field(_OPT_STR, default=None)
    suspend_reason: SuspendReason | None = field(optional(choice(SuspendReason)), default=None)
    missing_rpcs: tuple[str, ...] | None = field(optional(list_of(STR)), default=None)
    pending_approvals: tuple[PendingApproval, ...] | None = field(
        optional(list_of(APPROVAL)), default=None
    )
    resolved_approvals: tuple[ResolvedApproval, ...] | None = field(
        optional(list_of(record(ResolvedApproval))), default=None
    )
    created_at: datetime = field(TIME, factory=utc_now)
    updated_at: datetime = field(TIME, factory=utc_now)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class RunScore(Record):
    """A scorer's verdict on a run (scores are only ever added)."""

    run_id: str = field(STR)
    scorer_name: str = field(STR)
    score: float = field(NUMBER)
    reason: str | None = field(_OPT_STR, default=None)
    metadata: Mapping[str, Any] | None = field(optional(OBJECT), default=None)
    created_at: datetime = field(TIME, factory=utc_now)
    extra: Mapping[str, Any] = extra_field()
