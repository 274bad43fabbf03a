"""Agent runs: their state, pending approvals (three kinds), decisions and scores.

Users build stores with :func:`run_stores`; engine authors implement
:class:`RunStore`'s primitives over the rows of :mod:`kode_core.runs._rows`
(:class:`RunRow`, :class:`ApprovalRow`).
"""

from ._family import RUNS, run_stores
from ._memory import ConversationData, MemoryRunStore, MemoryThread, conversation_data
from ._options import RunOptions
from ._records import (
    AgentCallApproval,
    ApprovalDecision,
    CredentialApproval,
    CredentialType,
    PendingApproval,
    ResolvedApproval,
    Run,
    RunScore,
    RunStatus,
    RunUsage,
    SuspendReason,
    ToolApproval,
    approval_from_dict,
)
from ._rows import ApprovalRow, RunRow, StoredRun, assemble_run, split_run
from ._store import UPDATABLE_FIELDS, RunMerge, RunStore, check_id, encode_record

__all__ = [
    "RUNS",
    "UPDATABLE_FIELDS",
    "AgentCallApproval",
    "ApprovalDecision",
    "ApprovalRow",
    "ConversationData",
    "CredentialApproval",
    "CredentialType",
    "MemoryRunStore",
    "MemoryThread",
    "PendingApproval",
    "ResolvedApproval",
    "Run",
    "RunMerge",
    "RunOptions",
    "RunRow",
    "RunScore",
    "RunStatus",
    "RunStore",
    "RunUsage",
    "StoredRun",
    "SuspendReason",
    "ToolApproval",
    "approval_from_dict",
    "assemble_run",
    "check_id",
    "conversation_data",
    "encode_record",
    "run_stores",
    "split_run",
]
