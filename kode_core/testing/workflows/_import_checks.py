"""``import_run``: a run stored exactly as given, checked whole first, stored once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import pytest

from ..._builders import BuilderMap
from ..._errors import ConflictError, InvalidRecordError
from ...workflows import (
    RunStatus,
    StepAttempt,
    StepState,
    StepStatus,
    WorkflowRun,
    WorkflowStore,
)
from .._factory import StoreFactory, unique_namespace
from ._processes import import_runs
from ._race_checks import _race_processes

RUN = "run-imported"
#: Millisecond times well in the past: an import keeps them, it does not stamp now.
T0 = datetime(2021, 3, 4, 5, 6, 7, 890_000, tzinfo=timezone.utc)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


Exported = tuple[WorkflowRun, list[StepState], list[StepAttempt], dict[str, Any]]


def full_run(run_id: str = RUN, status: RunStatus = RunStatus.FAILED) -> Exported:
    """A run with every field of every record set: two steps, one retried after failing."""
    run = WorkflowRun(
        id=run_id, workflow="order", status=status, input={"items": [1, 2], "note": "é"},
        output={"partial": True}, error={"message": "boom"}, inline=True, graph_hash="g1",
        deterministic=False, planned_steps=["fetch", "charge"],
        wire={"type": "http", "id": "w1", "parent_run_id": "p", "parent_step_id": "ps",
              "user_id": "u", "trace": 7},
        created_at=_at(0), updated_at=_at(60),
    )  # fmt: skip
    fetch = StepState(
        step_id=f"{run_id}-s1", run_id=run_id, step_name="fetch", rpc_name="rpc.fetch",
        data={"url": "x"}, status=StepStatus.FAILED, error={"code": 2}, attempt_count=2,
        retries=3, retry_delay=1.5, from_step_name="start", child_run_id="child-1",
        branch_taken="left", created_at=_at(1), updated_at=_at(9), running_at=_at(7),
        scheduled_at=_at(6), failed_at=_at(9),
    )  # fmt: skip
    charge = StepState(
        step_id=f"{run_id}-s2", run_id=run_id, step_name="charge", data=None,
        status=StepStatus.SUCCEEDED, result=[1, "two"], attempt_count=1, created_at=_at(2),
        updated_at=_at(4), running_at=_at(3), succeeded_at=_at(4),
    )  # fmt: skip
    attempts = [  # in get_run_history's order: by start time, then attempt
        StepAttempt(
            step_id=fetch.step_id, run_id=run_id, step_name="fetch", attempt=1,
            status=StepStatus.FAILED, error={"code": 1}, created_at=_at(1), updated_at=_at(3),
            running_at=_at(2), failed_at=_at(3),
        ),
        StepAttempt(
            step_id=charge.step_id, run_id=run_id, step_name="charge", attempt=1,
            status=StepStatus.SUCCEEDED, result=[1, "two"], created_at=_at(2),
            updated_at=_at(4), running_at=_at(3), succeeded_at=_at(4),
        ),
        StepAttempt(
            step_id=fetch.step_id, run_id=run_id, step_name="fetch", attempt=2,
            status=StepStatus.FAILED, error={"code": 2}, created_at=_at(5), updated_at=_at(9),
            running_at=_at(7), scheduled_at=_at(6), failed_at=_at(9),
        ),
    ]  # fmt: skip
    return run, [fetch, charge], attempts, {"cursor": {"page": 2}, "seen": [1, None]}


async def read_back(store: WorkflowStore, run_id: str) -> Exported:
    """What the store holds of the run, as records (what an export writes)."""
    return (
        await store.get_run(run_id),
        await store.list_steps(run_id),
        await store.get_run_history(run_id),
        await store.get_run_state(run_id),
    )


def _evolve(index: int, **changes: Any) -> Callable[[Exported], Exported]:
    def change(parts: Exported) -> Exported:
        run, steps, attempts, state = parts
        if index == 0:
            return attrs.evolve(run, **changes), steps, attempts, state
        if index == 1:
            return run, [attrs.evolve(steps[0], **changes), *steps[1:]], attempts, state
        return run, steps, [attrs.evolve(attempts[0], **changes), *attempts[1:]], state

    return change


#: A bad part of an import -> the field the error must name.
BAD_IMPORTS: dict[str, tuple[Callable[[Exported], Exported], str]] = {
    "run_id_empty": (_evolve(0, id=""), "run.id"),
    "run_unknown_field": (_evolve(0, extra={"colour": "red"}), "run"),
    "wire_without_type": (_evolve(0, wire={"id": "x"}), "run.wire.type"),
    "step_of_another_run": (_evolve(1, run_id="other"), "steps[0].run_id"),
    "step_name_repeated": (_evolve(1, step_name="charge"), "steps[1]"),
    "step_retries_too_big": (_evolve(1, retries=2**63), "steps[0].retries"),
    "step_no_attempt": (_evolve(1, attempt_count=0), "steps[0].attempt_count"),
    "attempt_of_no_step": (_evolve(2, step_id="nope"), "attempts[0].step_id"),
    "attempt_past_the_count": (_evolve(2, attempt=3), "attempts[0].attempt"),
    "attempt_repeated": (_evolve(2, attempt=2), "attempts[2].attempt"),
    "attempt_missing": (lambda p: (p[0], p[1], p[2][1:], p[3]), "attempts"),
    "state_value_not_json": (lambda p: (*p[:3], {"k": {1, 2}}), "state.k"),
    "state_key_empty": (lambda p: (*p[:3], {"": 1}), "state key"),
}


@pytest.mark.anyio
class ImportChecks:
    """What ``kode import`` and ``kode copy`` rely on, on every backend."""

    if TYPE_CHECKING:  # provided by ConformanceSuite, which the suites mix this into

        def needs_processes(self) -> None: ...

    async def test_an_imported_run_reads_back_exactly_as_given(self, store: WorkflowStore) -> None:
        given = full_run()
        assert await store.import_run(*given) is True
        assert await read_back(store, RUN) == given
        assert await store.list_runs() == [given[0]]
        assert await store.distinct_workflow_names() == ["order"]

    async def test_a_run_made_by_the_engine_copies_equal_to_another_namespace(
        self,
        store: WorkflowStore,
        workflows: BuilderMap[WorkflowStore],
        store_factory: StoreFactory,
    ) -> None:
        run_id = await store.create_run("wf", {"a": 1}, wire={"type": "cron"}, graph_hash="h")
        first = await store.insert_step(run_id, "one", data=[1], retries=2, retry_delay=0.25)
        await store.set_step_scheduled(first.step_id)
        await store.claim_step(run_id, "one")
        await store.set_step_error(first.step_id, {"e": 1})
        await store.claim_step(run_id, "one")  # a second attempt
        await store.set_step_result(first.step_id, "ok")
        await store.insert_step(run_id, "two", from_step_name="one")
        await store.update_run_state(run_id, "k", [1])
        await store.update_run_status(run_id, "completed", output=5)
        source = await read_back(store, run_id)
        other = workflows.build(store_factory.descriptor(unique_namespace("w")))
        assert await other.import_run(*source) is True
        assert await read_back(other, run_id) == source

    async def test_importing_a_run_again_stores_nothing_more(self, store: WorkflowStore) -> None:
        given = full_run()
        assert await store.import_run(*given) is True
        changed: Exported = (attrs.evolve(given[0], workflow="other"), [], [], {"new": 1})
        assert await store.import_run(*changed) is False
        assert await store.import_run(*given) is False
        assert await read_back(store, RUN) == given
        assert await store.distinct_workflow_names() == ["order"]

    @pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
    async def test_a_bad_import_is_refused_naming_the_field_and_nothing_is_written(
        self, store: WorkflowStore, case: str
    ) -> None:
        spoil, field = BAD_IMPORTS[case]
        run, steps, attempts, state = spoil(full_run())
        with pytest.raises(InvalidRecordError) as caught:
            await store.import_run(run, steps, attempts, state)
        got = caught.value.field
        assert got == field or got.startswith((f"{field}.", f"{field}[")), got
        assert await store.list_runs() == []
        assert await store.list_steps(RUN) == []
        assert await store.get_run_state(RUN) == {}

    async def test_a_step_id_another_run_holds_conflicts_and_nothing_is_stored(
        self, store: WorkflowStore
    ) -> None:
        await store.import_run(*full_run("first"))
        run, steps, attempts, state = full_run("second")
        taken = attrs.evolve(steps[0], step_id="first-s1")
        moved = [attrs.evolve(a, step_id="first-s1") if a.step_name == "fetch" else a
                 for a in attempts]  # fmt: skip
        with pytest.raises(ConflictError):
            await store.import_run(run, [taken, steps[1]], moved, state)
        assert [r.id for r in await store.list_runs()] == ["first"]
        assert await store.list_steps("second") == []
        assert await store.get_run_state("second") == {}
        assert await read_back(store, "first") == full_run("first")

    async def test_of_concurrent_imports_of_one_run_exactly_one_stores_it(
        self, store: WorkflowStore
    ) -> None:
        given = full_run()
        outcomes: list[bool] = []

        async def importer() -> None:
            outcomes.append(await store.import_run(*given))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(importer)
        assert sorted(outcomes) == [False] * 7 + [True]
        assert await read_back(store, RUN) == given
        assert await store.list_runs() == [given[0]]
        assert await store.distinct_workflow_names() == ["order"]

    async def test_processes_importing_the_same_runs_store_each_once(
        self, store: WorkflowStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        run_ids = [f"run-{i}" for i in range(4)]
        args = (store_factory, namespace, run_ids, 4)
        reports = [json.loads(text) for text in await _race_processes(tmp_path, import_runs, args)]
        for run_id in run_ids:
            assert sum(report[run_id] for report in reports) == 1, (run_id, reports)
            assert await read_back(store, run_id) == full_run(run_id)
        assert len(await store.list_runs()) == len(run_ids)

    async def test_an_imported_run_is_indexed_and_its_steps_carry_on(
        self, store: WorkflowStore
    ) -> None:
        run, steps, attempts, state = full_run(status=RunStatus.RUNNING)
        pending = StepState(
            step_id="p1", run_id=RUN, step_name="later", status=StepStatus.PENDING,
            attempt_count=1, created_at=_at(10), updated_at=_at(10),
        )  # fmt: skip
        first = StepAttempt(
            step_id="p1", run_id=RUN, step_name="later", attempt=1, status=StepStatus.PENDING,
            created_at=_at(10), updated_at=_at(10),
        )  # fmt: skip
        await store.import_run(run, [*steps, pending], [*attempts, first], state)
        now = datetime.now(timezone.utc)
        assert [r.id for r in await store.find_stalled_runs(now)] == [RUN]
        assert [s.step_id for s in await store.find_undispatched_steps(now)] == ["p1"]
        claim = await store.claim_step(RUN, "fetch")  # failed: a third attempt
        assert (claim.won, claim.step.attempt_count, claim.step.error) == (True, 3, None)
        history = [a for a in await store.get_run_history(RUN) if a.step_name == "fetch"]
        assert [a.attempt for a in history] == [1, 2, 3]
        assert history[:2] == [attempts[0], attempts[2]]
        assert (await store.claim_step(RUN, "later")).won
        assert await store.find_undispatched_steps(now) == []

    async def test_a_step_name_stored_for_the_run_id_conflicts_and_nothing_is_stored(
        self, store: WorkflowStore
    ) -> None:
        await store.insert_step(RUN, "fetch")  # a step written before its run ever was
        with pytest.raises(ConflictError):
            await store.import_run(*full_run())
        assert await store.list_runs() == []
        assert [s.step_name for s in await store.list_steps(RUN)] == ["fetch"]
        assert await store.get_run_state(RUN) == {}
