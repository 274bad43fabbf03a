"""The workflow store: durable state of a replayed workflow engine, its records and builders.

Users build stores with :func:`workflow_stores` and read the records defined here
(:class:`WorkflowRun`, :class:`StepState`...); engine authors implement
:class:`WorkflowStore`'s primitives with the row helpers (:data:`STEP_COLUMNS`,
:func:`apply_update`...).
"""

from ._family import WORKFLOWS, workflow_stores
from ._import import ImportRows, import_rows
from ._lock import RunLock
from ._memory import MemoryWorkflowStore
from ._options import WorkflowOptions
from ._queries import WorkflowQueries
from ._records import (
    FINISHED_STATUSES,
    RunStatus,
    StepAttempt,
    StepClaim,
    StepState,
    StepStatus,
    VersionStatus,
    Wire,
    WorkflowRun,
    WorkflowVersion,
)
from ._rows import (
    STEP_COLUMNS,
    RunRow,
    StepMatch,
    StepRow,
    StepUpdate,
    VersionRow,
    apply_update,
    pick_update,
)
from ._store import WorkflowStore

__all__ = [
    "FINISHED_STATUSES",
    "STEP_COLUMNS",
    "WORKFLOWS",
    "ImportRows",
    "MemoryWorkflowStore",
    "RunLock",
    "RunRow",
    "RunStatus",
    "StepAttempt",
    "StepClaim",
    "StepMatch",
    "StepRow",
    "StepState",
    "StepStatus",
    "StepUpdate",
    "VersionRow",
    "VersionStatus",
    "Wire",
    "WorkflowOptions",
    "WorkflowQueries",
    "WorkflowRun",
    "WorkflowStore",
    "WorkflowVersion",
    "apply_update",
    "import_rows",
    "pick_update",
    "workflow_stores",
]
