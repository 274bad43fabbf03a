"""Workflow state in ``kode export``, ``kode import`` and ``kode copy``.

After the agent threads and runs, an export writes every workflow run, newest first,
each followed by what hangs off it, one JSON object per line keyed by what it holds::

    {"workflow_run": {...}}                              the run, as stored
    {"workflow_state": {"run_id": R, "state": {...}}}    its state keys (when it has any)
    {"workflow_step": {...}}                             its steps, oldest first
    {"workflow_attempt": {...}}                          every attempt of them, in order

Import checks each run's lines as one whole (:func:`~kode_core.workflows.import_rows`)
in the first pass, so a bad line is named before anything is written, then stores each
run with :meth:`~kode_core.WorkflowStore.import_run`: a run the target holds is skipped
whole, so importing twice stores everything once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import attrs

from .._builders import BackendPool
from .._descriptor import StoreConfig
from .._errors import InvalidDataError, InvalidRecordError, KodeError
from ..workflows import (
    WORKFLOWS,
    ImportRows,
    StepAttempt,
    StepState,
    WorkflowOptions,
    WorkflowRun,
    WorkflowStore,
    import_rows,
)
from ._common import is_terminal
from ._progress import ProgressBar, progress_bar

#: The line kinds this module reads and writes, by their one key.
KINDS = frozenset({"workflow_run", "workflow_state", "workflow_step", "workflow_attempt"})
#: Runs per page of an export's listing.
PAGE = 500
_PART = re.compile(r"^(steps|attempts)\[(\d+)\]")


@attrs.frozen
class WorkflowLine:
    """One checked line of an export holding a workflow run, its state, a step or an attempt."""

    kind: str
    value: Any
    number: int


@attrs.define
class WorkflowTotals:
    """What an import or copy of workflow state did."""

    runs: int = 0
    skipped: int = 0
    steps: int = 0
    attempts: int = 0

    def describe(self) -> str:
        return (
            f"{self.runs} runs stored ({self.steps} steps, {self.attempts} attempts), "
            f"{self.skipped} skipped as already present"
        )


@attrs.define
class RunLines:
    """The lines of one run, in the order an export writes them."""

    run: WorkflowLine
    state: WorkflowLine | None = None
    steps: list[WorkflowLine] = attrs.Factory(list)
    attempts: list[WorkflowLine] = attrs.Factory(list)

    def rows(self, max_bytes: int) -> ImportRows:
        """The run checked whole; :class:`InvalidDataError` names the line at fault."""
        state = {} if self.state is None else self.state.value["state"]
        try:
            return import_rows(
                self.run.value,
                [line.value for line in self.steps],
                [line.value for line in self.attempts],
                state,
                max_bytes,
            )
        except InvalidRecordError as exc:
            raise _at_line(self._line_of(exc.field), exc) from None

    def _line_of(self, field: str) -> int:
        part = _PART.match(field)
        if part is not None:
            lines = self.steps if part[1] == "steps" else self.attempts
            return lines[int(part[2])].number
        if field.startswith("state") and self.state is not None:
            return self.state.number
        return self.run.number


def parse_workflow_line(number: int, value: dict[str, Any]) -> WorkflowLine | None:
    """The checked line ``value`` holds, or None when it is not one of :data:`KINDS`."""
    if len(value) != 1 or next(iter(value)) not in KINDS:
        return None
    [(kind, item)] = value.items()
    try:
        if kind == "workflow_run":
            record: Any = WorkflowRun.from_dict(item, kind)
        elif kind == "workflow_step":
            record = StepState.from_dict(item, kind)
        elif kind == "workflow_attempt":
            record = StepAttempt.from_dict(item, kind)
        elif (
            not isinstance(item, dict)
            or set(item) != {"run_id", "state"}
            or not isinstance(item["run_id"], str)
            or not isinstance(item["state"], dict)
        ):
            raise InvalidDataError('workflow_state must be {"run_id": "...", "state": {...}}')
        else:
            record = item
    except KodeError as exc:
        raise _at_line(number, exc) from None
    return WorkflowLine(kind, record, number)


def _at_line(number: int, exc: KodeError) -> InvalidDataError:
    if isinstance(exc, InvalidRecordError):  # its own text ends "nothing was stored"
        return InvalidDataError(f"line {number}: invalid {exc.field}: {exc.reason}")
    return InvalidDataError(f"line {number}: {exc}")


def group_runs(lines: Iterable[WorkflowLine]) -> Iterator[RunLines]:
    """The lines of each run in turn; a line that follows no run of its id is refused."""
    current: RunLines | None = None
    for line in lines:
        if line.kind == "workflow_run":
            if current is not None:
                yield current
            current = RunLines(line)
            continue
        run_id = line.value["run_id"] if line.kind == "workflow_state" else line.value.run_id
        if current is None or current.run.value.id != run_id:
            raise InvalidDataError(
                f"line {line.number}: a {line.kind} of run {run_id!r} not right after that run"
            )
        if line.kind == "workflow_state":
            current.state = line
        elif line.kind == "workflow_step":
            current.steps.append(line)
        else:
            current.attempts.append(line)
    if current is not None:
        yield current


def workflow_limit(pool: BackendPool, config: StoreConfig) -> int | None:
    """The ``max_entry_bytes`` the workflow stores of ``config`` apply; None if it keeps none."""
    if not pool.provides(config.kind, WORKFLOWS.name):
        return None
    _, settings = pool.options_for(config.kind, {}, WORKFLOWS.name)
    assert isinstance(settings, WorkflowOptions)
    return settings.max_entry_bytes


@asynccontextmanager
async def open_workflow_store(
    config: StoreConfig, *, existing: bool
) -> AsyncIterator[WorkflowStore | None]:
    """The workflow store of ``config``; None when its kind keeps none or, with
    ``existing``, when none was ever stored there (then nothing is created)."""
    overrides = {"auto_migrate": False} if existing else {}
    async with BackendPool(config.defaults(**overrides)) as pool:
        if not pool.provides(config.kind, WORKFLOWS.name):
            yield None
            return
        store = pool.build(WORKFLOWS.name, config.descriptor())
        assert isinstance(store, WorkflowStore)
        if existing and await store.schema_version() == 0:
            yield None
            return
        yield store


async def export_lines(store: WorkflowStore) -> AsyncIterator[dict[str, Any]]:
    """Every run, newest first, with its state, steps and attempts."""
    offset = 0
    while True:
        page = await store.list_runs(limit=PAGE, offset=offset)
        for run in page:
            yield {"workflow_run": run.to_dict()}
            state = await store.get_run_state(run.id)
            if state:
                yield {"workflow_state": {"run_id": run.id, "state": state}}
            for step in await store.list_steps(run.id):
                yield {"workflow_step": step.to_dict()}
            for attempt in await store.get_run_history(run.id):
                yield {"workflow_attempt": attempt.to_dict()}
        if len(page) < PAGE:
            return
        offset += len(page)


async def import_runs(
    store: WorkflowStore, runs: Iterable[RunLines], bar: ProgressBar | None = None
) -> WorkflowTotals:
    """Store each run (checked already) unless the store holds it."""
    totals = WorkflowTotals()
    for lines in runs:
        if await store.import_run(lines.run.value, *_parts(lines)):
            totals.runs += 1
            totals.steps += len(lines.steps)
            totals.attempts += len(lines.attempts)
        else:
            totals.skipped += 1
        if bar is not None:
            bar.advance()
            bar.note(f"{totals.runs} stored, {totals.skipped} skipped")
    return totals


def _parts(lines: RunLines) -> tuple[list[Any], list[Any], dict[str, Any]]:
    state = {} if lines.state is None else lines.state.value["state"]
    return [line.value for line in lines.steps], [line.value for line in lines.attempts], state


async def copy_workflows(source: WorkflowStore, target: WorkflowStore) -> WorkflowTotals:
    """Copy every run with its state, steps and attempts; runs the target holds are skipped."""
    total = await _count_runs(source) if is_terminal() else None
    with progress_bar("workflow runs", total) as bar:
        return await _copy(source, target, bar)


async def _copy(source: WorkflowStore, target: WorkflowStore, bar: ProgressBar) -> WorkflowTotals:
    totals = WorkflowTotals()
    batch: list[WorkflowLine] = []

    async def flush() -> None:
        more = await import_runs(target, group_runs(batch), None)
        for field in attrs.fields(WorkflowTotals):
            setattr(totals, field.name, getattr(totals, field.name) + getattr(more, field.name))
        bar.advance()
        bar.note(f"{totals.runs} stored, {totals.skipped} skipped")
        batch.clear()

    async for value in export_lines(source):
        line = parse_workflow_line(0, value)
        assert line is not None
        if line.kind == "workflow_run" and batch:  # one run's lines at a time
            await flush()
        batch.append(line)
    if batch:
        await flush()
    return totals


async def _count_runs(store: WorkflowStore) -> int:
    count, offset = 0, 0
    while True:
        page = await store.list_runs(limit=PAGE, offset=offset)
        count += len(page)
        if len(page) < PAGE:
            return count
        offset += len(page)
