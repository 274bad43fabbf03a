"""The read side of the workflow store (console queries), versions and graph queries.

:class:`~kode_core.WorkflowStore` derives from :class:`WorkflowQueries`; a backend
implements the primitives of both.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Iterable
from typing import Any

from .._clock import now_ms
from .._errors import InvalidRecordError, NotFoundError
from .._options import BackendOptions
from .._store import Store
from ._checks import MAX_PAGE, check_count, check_enum, check_id, encode_json
from ._options import WorkflowOptions
from ._records import (
    RunStatus,
    StepAttempt,
    StepState,
    StepStatus,
    VersionStatus,
    WorkflowRun,
    WorkflowVersion,
)
from ._rows import RunRow, StepRow, VersionRow, attempt_record, run_record, version_record


class WorkflowQueries(Store):
    """Runs newest first, steps, attempt history, workflow names, versions, graph views."""

    def __init__(self, options: BackendOptions, settings: WorkflowOptions) -> None:
        super().__init__(options)
        self._max_bytes = settings.max_entry_bytes
        self._retention_ms = settings.retention_ms

    def _encode(self, value: Any, name: str) -> str:
        return encode_json(value, name, self._max_bytes)

    # -- console ---------------------------------------------------------------------------

    async def list_runs(
        self,
        workflow: str | None = None,
        status: RunStatus | str | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[WorkflowRun]:
        """Runs newest first, of ``workflow`` and in ``status`` when given."""
        name = None if workflow is None else check_id(workflow, "workflow")
        wanted = None if status is None else check_enum(RunStatus, status, "status").value
        limit = check_count(limit, "limit", minimum=1, maximum=MAX_PAGE)
        offset = check_count(offset, "offset")
        return [run_record(row) for row in await self._list_runs(name, wanted, limit, offset)]

    async def get_run_steps(self, run_id: str) -> builtins.list[StepState]:
        """Every step of the run, oldest first (as :meth:`list_steps`)."""
        return await self.list_steps(run_id)

    async def get_run_history(self, run_id: str) -> builtins.list[StepAttempt]:
        """Every attempt of every step of the run, by start time then attempt number."""
        rows = await self._list_history(check_id(run_id, "run_id"))
        return [attempt_record(row) for row in rows]

    async def distinct_workflow_names(self) -> builtins.list[str]:
        """The names of the workflows that have runs, sorted."""
        return await self._distinct_workflows()

    # -- versions ----------------------------------------------------------------------------

    async def upsert_version(
        self,
        workflow_name: str,
        graph_hash: str,
        graph: Any,
        *,
        source: str | None = None,
        status: VersionStatus | str = VersionStatus.ACTIVE,
    ) -> None:
        """Store a workflow graph under its hash; a no-op when that version is stored."""
        row = VersionRow(
            check_id(workflow_name, "workflow_name"),
            check_id(graph_hash, "graph_hash"),
            self._encode(graph, "graph"),
            None if source is None else _check_source(source, self._max_bytes),
            check_enum(VersionStatus, status, "status").value,
            now_ms(),
        )
        await self._insert_version(row)

    async def set_version_status(
        self, workflow_name: str, graph_hash: str, status: VersionStatus | str
    ) -> None:
        """Set a stored version's status; raises :class:`~kode_core.NotFoundError` if none."""
        name, digest = check_id(workflow_name, "workflow_name"), check_id(graph_hash, "graph_hash")
        value = check_enum(VersionStatus, status, "status").value
        if not await self._set_version_status(name, digest, value):
            raise NotFoundError(
                f"workflow {name!r} has no version {digest!r}",
                workflow_name=name,
                graph_hash=digest,
            )

    async def get_version(self, workflow_name: str, graph_hash: str) -> WorkflowVersion | None:
        """The stored version, or None."""
        name, digest = check_id(workflow_name, "workflow_name"), check_id(graph_hash, "graph_hash")
        row = await self._get_version(name, digest)
        return None if row is None else version_record(row)

    # -- graph queries (one read of the run's steps each) ---------------------------------------

    async def completed_node_ids(self, run_id: str) -> builtins.list[str]:
        """Names of the run's succeeded steps (graph node ids), oldest first."""
        return _names(await self.list_steps(run_id), StepStatus.SUCCEEDED)

    async def failed_node_ids(self, run_id: str) -> builtins.list[str]:
        """Names of the run's failed steps, oldest first."""
        return _names(await self.list_steps(run_id), StepStatus.FAILED)

    async def branch_keys(self, run_id: str) -> dict[str, str]:
        """The branch each node of the run took, by node id (nodes that took one)."""
        steps = await self.list_steps(run_id)
        return {s.step_name: s.branch_taken for s in steps if s.branch_taken is not None}

    async def node_results(self, run_id: str, node_ids: Iterable[str]) -> dict[str, Any]:
        """Results of the run's succeeded nodes among ``node_ids``, by node id."""
        wanted = {check_id(node, "node_ids[]") for node in node_ids}
        steps = await self.list_steps(run_id)
        return {
            s.step_name: s.result
            for s in steps
            if s.step_name in wanted and s.status is StepStatus.SUCCEEDED
        }

    async def step_instances(self, run_id: str, node_id: str) -> builtins.list[StepState]:
        """The node's steps: named ``node_id`` or ``node_id:<instance>`` (fan-out), oldest first."""
        node_id = check_id(node_id, "node_id")
        prefix = f"{node_id}:"
        steps = await self.list_steps(run_id)
        return [s for s in steps if s.step_name == node_id or s.step_name.startswith(prefix)]

    @abc.abstractmethod
    async def list_steps(self, run_id: str) -> builtins.list[StepState]:
        """Every step of the run, oldest first."""

    # -- what a backend implements ---------------------------------------------------------

    @abc.abstractmethod
    async def _list_runs(
        self, workflow: str | None, status: str | None, limit: int, offset: int
    ) -> builtins.list[RunRow]:
        """Runs by (created_ms, run_id) descending, filtered, paged."""

    @abc.abstractmethod
    async def _list_history(self, run_id: str) -> builtins.list[StepRow]:
        """The run's history rows by (created_ms, attempt_count, step_name)."""

    @abc.abstractmethod
    async def _distinct_workflows(self) -> builtins.list[str]:
        """Distinct workflow names of stored runs, in code point order."""

    @abc.abstractmethod
    async def _insert_version(self, row: VersionRow) -> None:
        """Insert the version unless (workflow_name, graph_hash) is stored."""

    @abc.abstractmethod
    async def _set_version_status(self, workflow_name: str, graph_hash: str, status: str) -> bool:
        """Set the status; False if the version is not stored."""

    @abc.abstractmethod
    async def _get_version(self, workflow_name: str, graph_hash: str) -> VersionRow | None:
        """The version row, or None."""


def _names(steps: Iterable[StepState], status: StepStatus) -> builtins.list[str]:
    return [step.step_name for step in steps if step.status is status]


def _check_source(source: object, max_bytes: int) -> str:
    if not isinstance(source, str):
        raise InvalidRecordError("source", f"must be a string, got {type(source).__name__}")
    encode_json(source, "source", max_bytes)
    return source
