"""How a run is laid out in an engine: one row for the run, one per approval.

A run's body is its JSON without the approvals; each approval (pending, or resolved
with its decision) is a row of its own keyed by ``tool_call_id``. That split is what
makes :meth:`~kode_core.runs.RunStore.resolve_approval` one conditional write on one
row in every engine, and :meth:`~kode_core.runs.RunStore.find_run_by_tool_call_id`
one index lookup. Engines store and return these rows; the contract assembles runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from .._record_codec import dumps, to_ms
from ._records import Run

#: The keys of a run's JSON kept in approval rows, not in its body.
_PENDING, _RESOLVED = "pending_approvals", "resolved_approvals"


@attrs.frozen
class RunRow:
    """A run's indexed columns and its body (its JSON without the approvals)."""

    run_id: str
    thread_id: str
    resource_id: str
    agent_name: str
    status: str
    created_ms: int
    updated_ms: int
    body: str


@attrs.frozen
class ApprovalRow:
    """One approval of a run: pending while ``decision`` is None.

    ``body`` is the pending approval's JSON; None for a decision stored without one
    (a run created with ``resolved_approvals``).
    """

    tool_call_id: str
    run_id: str
    position: int
    body: str | None
    decision: str | None = None
    resolved_ms: int | None = None

    @property
    def pending(self) -> bool:
        return self.decision is None


@attrs.frozen
class StoredRun:
    """What an engine returns for a run: its row's body and its approval rows."""

    body: str
    approvals: Sequence[ApprovalRow]


def split_run(run: Run, created_ms: int, updated_ms: int) -> tuple[RunRow, list[ApprovalRow]]:
    """The row and approval rows a run is stored as."""
    data = run.to_dict()
    approvals: list[ApprovalRow] = []
    if _PENDING in data:
        data[_PENDING] = []  # present: the rows say what is pending
        for position, approval in enumerate(run.pending_approvals or ()):
            approvals.append(
                ApprovalRow(approval.tool_call_id, run.run_id, position, approval.to_json())
            )
    if _RESOLVED in data:
        data[_RESOLVED] = []
        for position, resolved in enumerate(run.resolved_approvals or (), start=len(approvals)):
            approvals.append(
                ApprovalRow(
                    resolved.tool_call_id,
                    run.run_id,
                    position,
                    None,
                    resolved.decision.value,
                    to_ms(resolved.resolved_at),
                )
            )
    row = RunRow(
        run.run_id,
        run.thread_id,
        run.resource_id,
        run.agent_name,
        run.status.value,
        created_ms,
        updated_ms,
        dumps(data),
    )
    return row, approvals


def pending_rows(run_id: str, approvals: Sequence[Any], start: int = 0) -> list[ApprovalRow]:
    """The approval rows of ``approvals`` (checked records), numbered from ``start``."""
    return [
        ApprovalRow(approval.tool_call_id, run_id, position, approval.to_json())
        for position, approval in enumerate(approvals, start=start)
    ]


def assemble_run(stored: StoredRun) -> Run:
    """The run an engine's body and approval rows make up."""
    data = json.loads(stored.body)
    rows = sorted(stored.approvals, key=lambda row: row.position)
    pending = [json.loads(row.body) for row in rows if row.pending and row.body is not None]
    resolved = sorted(
        (row for row in rows if not row.pending), key=lambda row: (row.resolved_ms, row.position)
    )
    if pending or _PENDING in data:
        data[_PENDING] = pending
    if resolved or _RESOLVED in data:
        data[_RESOLVED] = [
            {"tool_call_id": r.tool_call_id, "decision": r.decision, "resolved_at": r.resolved_ms}
            for r in resolved
        ]
    return Run.from_dict(data)
