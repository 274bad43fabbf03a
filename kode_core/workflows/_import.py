"""Storing a run exactly as exported: :meth:`~kode_core.WorkflowStore.import_run`.

``kode import`` and ``kode copy`` write a run with its times, status, steps, attempt
history and state as another store holds them, which the engine-facing methods (that
stamp ``now`` and start at attempt 1) cannot do. :func:`import_rows` checks all of it
and builds the rows before any I/O; a backend stores them at once or not at all.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .._errors import InvalidRecordError
from .._record_codec import check_json, to_ms
from ._checks import check_count, check_delay, check_id, check_optional_id, encode_checked
from ._records import StepAttempt, StepState, Wire, WorkflowRun
from ._rows import STEP_COLUMNS, RunRow, StepRow


@attrs.frozen
class ImportRows:
    """A run as rows: the run, its steps, every attempt-history row and its state texts."""

    run: RunRow
    steps: tuple[StepRow, ...]
    history: tuple[StepRow, ...]
    state: Mapping[str, str]


def import_rows(
    run: WorkflowRun | Mapping[str, Any],
    steps: Iterable[StepState | Mapping[str, Any]],
    attempts: Iterable[StepAttempt | Mapping[str, Any]],
    state: Mapping[str, Any],
    max_bytes: int,
) -> ImportRows:
    """Check a run, its steps, attempts and state as one whole and build its rows.

    Steps belong to the run with unique names and ids; every step has exactly the
    attempts ``1..attempt_count``; nothing carries fields the store does not keep.
    :class:`~kode_core.InvalidRecordError` names the first field at fault.
    """
    record = _no_extra(WorkflowRun.coerce(run, "run"), "run")
    run_id = check_id(record.id, "run.id")
    run_row = RunRow(
        run_id,
        check_id(record.workflow, "run.workflow"),
        record.status.value,
        encode_checked(_spec(record), "run.input", max_bytes),
        _encode_optional(record.output, "run.output", max_bytes),
        _encode_optional(record.error, "run.error", max_bytes),
        to_ms(record.created_at),
        to_ms(record.updated_at),
    )
    step_rows: dict[str, StepRow] = {}
    names: set[str] = set()
    for number, item in enumerate(steps):
        path = f"steps[{number}]"
        row = _step_row(_no_extra(StepState.coerce(item, path), path), path, run_id, max_bytes)
        if row["step_id"] in step_rows or row["step_name"] in names:
            raise InvalidRecordError(path, "repeats the id or name of an earlier step")
        step_rows[row["step_id"]] = row
        names.add(row["step_name"])
    history: dict[tuple[str, int], StepRow] = {}
    for number, given in enumerate(attempts):
        path = f"attempts[{number}]"
        attempt = _no_extra(StepAttempt.coerce(given, path), path)
        step = step_rows.get(attempt.step_id)
        if step is None or (attempt.run_id, attempt.step_name) != (run_id, step["step_name"]):
            raise InvalidRecordError(f"{path}.step_id", "names no step of the run")
        if not 1 <= attempt.attempt <= step["attempt_count"]:
            raise InvalidRecordError(f"{path}.attempt", "is not one of the step's attempts")
        if (attempt.step_id, attempt.attempt) in history:
            raise InvalidRecordError(f"{path}.attempt", "repeats an earlier attempt")
        history[(attempt.step_id, attempt.attempt)] = _attempt_row(step, attempt, path, max_bytes)
    for step_id, step in step_rows.items():
        if len([key for key in history if key[0] == step_id]) != step["attempt_count"]:
            raise InvalidRecordError(
                "attempts", f"must hold attempts 1 to {step['attempt_count']} of {step_id!r}"
            )
    if not isinstance(state, Mapping):
        raise InvalidRecordError("state", "must be a mapping of names to JSON values")
    texts = {
        check_id(name, "state key"): encode_checked(
            check_json(value, f"state.{name}"), f"state.{name}", max_bytes
        )
        for name, value in state.items()
    }
    return ImportRows(run_row, tuple(step_rows.values()), tuple(history.values()), texts)


def _no_extra(record: Any, path: str) -> Any:
    if record.extra:
        unknown = ", ".join(sorted(record.extra))
        raise InvalidRecordError(path, f"has fields the store does not keep: {unknown}")
    return record


def _encode_optional(value: Any, name: str, max_bytes: int) -> str | None:
    return None if value is None else encode_checked(value, name, max_bytes)


def _spec(run: WorkflowRun) -> dict[str, Any]:
    spec: dict[str, Any] = {"input": run.input, "wire": Wire.coerce(run.wire, "run.wire").to_dict()}
    extras = {
        "inline": run.inline,
        "graph_hash": check_optional_id(run.graph_hash, "run.graph_hash"),
        "deterministic": run.deterministic,
        "planned_steps": run.planned_steps,
    }
    spec.update({key: value for key, value in extras.items() if value is not None})
    return spec


def _ms(value: Any) -> int | None:
    return None if value is None else to_ms(value)


def _step_row(step: StepState, path: str, run_id: str, max_bytes: int) -> StepRow:
    if step.run_id != run_id:
        raise InvalidRecordError(f"{path}.run_id", f"must be the run's id {run_id!r}")
    row: StepRow = {
        "step_id": check_id(step.step_id, f"{path}.step_id"),
        "run_id": run_id,
        "step_name": check_id(step.step_name, f"{path}.step_name"),
        "rpc_name": check_optional_id(step.rpc_name, f"{path}.rpc_name"),
        "data": encode_checked(step.data, f"{path}.data", max_bytes),
        "status": step.status.value,
        "result": _encode_optional(step.result, f"{path}.result", max_bytes),
        "error": _encode_optional(step.error, f"{path}.error", max_bytes),
        "attempt_count": check_count(step.attempt_count, f"{path}.attempt_count", minimum=1),
        "retries": None if step.retries is None else check_count(step.retries, f"{path}.retries"),
        "retry_delay": check_delay(step.retry_delay, f"{path}.retry_delay"),
        "from_step_name": check_optional_id(step.from_step_name, f"{path}.from_step_name"),
        "child_run_id": check_optional_id(step.child_run_id, f"{path}.child_run_id"),
        "branch_taken": check_optional_id(step.branch_taken, f"{path}.branch_taken"),
        "created_ms": to_ms(step.created_at),
        "updated_ms": to_ms(step.updated_at),
        "running_ms": _ms(step.running_at),
        "scheduled_ms": _ms(step.scheduled_at),
        "succeeded_ms": _ms(step.succeeded_at),
        "failed_ms": _ms(step.failed_at),
    }
    assert tuple(row) == STEP_COLUMNS
    return row


def _attempt_row(step: StepRow, attempt: StepAttempt, path: str, max_bytes: int) -> StepRow:
    """The history row: the step's own columns, the attempt's status, outcome and times."""
    return {
        **step,
        "status": attempt.status.value,
        "result": _encode_optional(attempt.result, f"{path}.result", max_bytes),
        "error": _encode_optional(attempt.error, f"{path}.error", max_bytes),
        "attempt_count": attempt.attempt,
        "created_ms": to_ms(attempt.created_at),
        "updated_ms": to_ms(attempt.updated_at),
        "running_ms": _ms(attempt.running_at),
        "scheduled_ms": _ms(attempt.scheduled_at),
        "succeeded_ms": _ms(attempt.succeeded_at),
        "failed_ms": _ms(attempt.failed_at),
    }


class WorkflowImport(abc.ABC):
    """The import side of :class:`~kode_core.WorkflowStore` (a mixin of its contract)."""

    _max_bytes: int

    async def import_run(
        self,
        run: WorkflowRun | Mapping[str, Any],
        steps: Sequence[StepState | Mapping[str, Any]] = (),
        attempts: Sequence[StepAttempt | Mapping[str, Any]] = (),
        state: Mapping[str, Any] | None = None,
    ) -> bool:
        """Store a run exactly as given: times, status, steps, attempts and state
        (``kode import`` and ``kode copy`` use it); True if the run was new.

        Everything is checked first (see :func:`import_rows`) and stored at once: a
        run the store holds already is left as it is and False returned, so importing
        twice stores everything once, and of concurrent imports of one run exactly one
        stores it. A step whose id (or run and name) is stored already raises
        :class:`~kode_core.ConflictError` and nothing is stored.
        """
        rows = import_rows(run, steps, attempts, state or {}, self._max_bytes)
        return await self._import_run(rows)

    @abc.abstractmethod
    async def _import_run(self, rows: ImportRows) -> bool:
        """Store every row at once unless the run id is stored (then write nothing and
        return False); ConflictError, with nothing stored, if a step's id or
        ``(run_id, step_name)`` is stored already."""
