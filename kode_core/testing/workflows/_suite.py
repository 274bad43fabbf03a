"""The workflow-store conformance suite: subclass it and provide ``store_factory``.

A backend's whole conformance test class::

    import pytest
    from kode_core.testing import StoreFactory, WorkflowStoreConformance

    class TestSqliteWorkflowStore(WorkflowStoreConformance):
        @pytest.fixture
        def store_factory(self, tmp_path):
            return StoreFactory("sqlite", {"path": str(tmp_path / "kode.db")}, ("kode_sqlite",))

The races and the lock run with real concurrent writers: tasks here, and (when the
backend declares ``shared_across_processes``) other OS processes.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

from ..._builders import BuilderMap
from ..._errors import ConflictError, NotFoundError
from ...workflows import WORKFLOWS, RunStatus, StepStatus, VersionStatus, WorkflowStore
from .._factory import StoreFactory, unique_namespace
from .._suite_base import ConformanceSuite
from ._bad_input_checks import BadInputChecks
from ._import_checks import ImportChecks
from ._race_checks import RaceChecks

RUN = "run-1"


def _random_id(length: int) -> str:
    return "".join(chr(0x20000 + secrets.randbelow(0xA000)) for _ in range(length))


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.mark.anyio
class WorkflowStoreConformance(RaceChecks, BadInputChecks, ImportChecks, ConformanceSuite):
    """The whole workflow-store contract, on the backend ``store_factory`` opens."""

    @pytest.fixture
    async def workflows(
        self, store_factory: StoreFactory
    ) -> AsyncIterator[BuilderMap[WorkflowStore]]:
        async with store_factory.open_family(WORKFLOWS, max_entry_bytes=65_536) as workflows:
            yield workflows

    @pytest.fixture
    def namespace(self) -> str:
        return unique_namespace("w")

    @pytest.fixture
    def store(
        self, workflows: BuilderMap[WorkflowStore], store_factory: StoreFactory, namespace: str
    ) -> WorkflowStore:
        return workflows.build(store_factory.descriptor(namespace))

    # -- runs -----------------------------------------------------------------------------

    async def test_a_run_round_trips_everything_it_was_created_with(
        self, store: WorkflowStore
    ) -> None:
        before = _now() - timedelta(seconds=1)
        wire = {"type": "http", "id": "w1", "parent_run_id": "p", "user_id": "u", "trace": 7}
        run_id = await store.create_run(
            "order", {"items": [1, 2], "note": "é"}, wire=wire, inline=True,
            graph_hash="g1", deterministic=False, planned_steps=["a", "b"],
        )  # fmt: skip
        run = await store.get_run(run_id)
        assert (run.id, run.workflow, run.status) == (run_id, "order", RunStatus.RUNNING)
        assert run.input == {"items": [1, 2], "note": "é"}
        assert run.wire == wire
        assert (run.inline, run.graph_hash, run.deterministic) == (True, "g1", False)
        assert run.planned_steps == ["a", "b"]
        assert run.output is None
        assert run.error is None
        assert before < run.created_at == run.updated_at <= _now()

    async def test_an_unknown_run_is_not_found_and_a_taken_run_id_conflicts(
        self, store: WorkflowStore
    ) -> None:
        with pytest.raises(NotFoundError):
            await store.get_run("nope")
        await store.create_run("wf", 1, run_id=RUN)
        with pytest.raises(ConflictError):
            await store.create_run("other", 2, run_id=RUN)
        assert (await store.get_run(RUN)).workflow == "wf"

    async def test_run_status_output_and_error_are_updated(self, store: WorkflowStore) -> None:
        run_id = await store.create_run("wf")
        created = (await store.get_run(run_id)).updated_at
        await anyio.sleep(0.01)
        await store.update_run_status(run_id, "suspended", output={"partial": 1})
        await store.update_run_status(run_id, RunStatus.FAILED, error={"message": "boom"})
        run = await store.get_run(run_id)
        assert run.status is RunStatus.FAILED
        assert (run.output, run.error) == ({"partial": 1}, {"message": "boom"})
        assert run.updated_at > created
        with pytest.raises(NotFoundError):
            await store.update_run_status("nope", "completed")

    async def test_run_state_merges_one_key_at_a_time(self, store: WorkflowStore) -> None:
        assert await store.get_run_state(RUN) == {}
        await store.update_run_state(RUN, "a", 1)
        await store.update_run_state(RUN, "b", {"deep": [1, None]})
        await store.update_run_state(RUN, "a", "again")
        assert await store.get_run_state(RUN) == {"a": "again", "b": {"deep": [1, None]}}
        assert await store.get_run_state("other") == {}

    async def test_delete_run_cascades_to_steps_history_and_state(
        self, store: WorkflowStore
    ) -> None:
        await store.create_run("wf", run_id=RUN)
        await store.create_run("wf", run_id="kept")
        step = await store.insert_step(RUN, "s1")
        await store.create_retry_attempt(step.step_id)
        await store.update_run_state(RUN, "k", 1)
        await store.insert_step("kept", "s1")
        assert await store.delete_run(RUN) is True
        assert await store.delete_run(RUN) is False
        with pytest.raises(NotFoundError):
            await store.get_run(RUN)
        assert await store.list_steps(RUN) == []
        assert await store.get_run_history(RUN) == []
        assert await store.get_run_state(RUN) == {}
        assert [s.step_name for s in await store.list_steps("kept")] == ["s1"]
        await store.insert_step(RUN, "s1")  # the name is free again

    async def test_list_runs_is_newest_first_filtered_and_paged(self, store: WorkflowStore) -> None:
        ids = []
        for i, name in enumerate(["b", "a", "b", "c", "b"]):
            ids.append(await store.create_run(name, i))
            await anyio.sleep(0.003)
        await store.update_run_status(ids[2], "completed")
        assert [r.id for r in await store.list_runs()] == ids[::-1]
        assert [r.id for r in await store.list_runs("b")] == [ids[4], ids[2], ids[0]]
        assert [r.id for r in await store.list_runs("b", "completed")] == [ids[2]]
        running = await store.list_runs(status="running", limit=2)
        assert [r.id for r in running] == [ids[4], ids[3]]
        assert [r.id for r in await store.list_runs(limit=2, offset=1)] == [ids[3], ids[2]]
        assert await store.distinct_workflow_names() == ["a", "b", "c"]

    async def test_namespaces_do_not_see_each_others_runs(
        self,
        workflows: BuilderMap[WorkflowStore],
        store_factory: StoreFactory,
        store: WorkflowStore,
    ) -> None:
        other = workflows.build(store_factory.descriptor(unique_namespace("w")))
        await store.create_run("wf", run_id=RUN)
        await store.insert_step(RUN, "s")
        await other.insert_step(RUN, "s")  # its own (run, step) space
        assert await other.list_runs() == []
        assert len(await store.list_runs()) == 1

    async def test_the_longest_ids_work_in_every_method(self, store: WorkflowStore) -> None:
        # 512 random four-byte characters: the longest id accepted, and not compressible.
        longest, other = (_random_id(512) for _ in range(2))
        await store.create_run(longest, run_id=longest)
        await store.insert_step(longest, longest)
        with pytest.raises(ConflictError):
            await store.insert_step(longest, longest)
        await store.insert_step(longest, other)
        assert (await store.claim_step(longest, longest)).won
        await store.update_run_state(longest, longest, 1)
        await store.update_run_state(longest, other, 2)
        assert await store.get_run_state(longest) == {longest: 1, other: 2}
        await store.upsert_version(longest, longest, {"g": 1})
        await store.upsert_version(longest, other, {"g": 2})
        version = await store.get_version(longest, other)
        assert version is not None
        assert version.graph == {"g": 2}
        async with store.run_lock(longest, timeout=5):
            pass
        assert [r.workflow for r in await store.list_runs(longest)] == [longest]
        assert await store.delete_run(longest)

    # -- steps ----------------------------------------------------------------------------

    async def test_a_step_is_inserted_pending_at_attempt_one(self, store: WorkflowStore) -> None:
        step = await store.insert_step(
            RUN, "charge", rpc_name="pay", data={"amount": 5}, retries=3, retry_delay=1.5,
            from_step_name="reserve",
        )  # fmt: skip
        assert (step.status, step.attempt_count) == (StepStatus.PENDING, 1)
        assert (step.rpc_name, step.data, step.retries, step.retry_delay) == (
            "pay",
            {"amount": 5},
            3,
            1.5,
        )
        assert step.from_step_name == "reserve"
        assert await store.get_step(RUN, "charge") == step
        [attempt] = await store.get_run_history(RUN)
        assert (attempt.step_id, attempt.attempt, attempt.status) == (
            step.step_id,
            1,
            StepStatus.PENDING,
        )
        with pytest.raises(NotFoundError):
            await store.get_step(RUN, "nope")

    async def test_a_second_insert_of_a_step_name_conflicts(self, store: WorkflowStore) -> None:
        first = await store.insert_step(RUN, "s", data=1)
        with pytest.raises(ConflictError):
            await store.insert_step(RUN, "s", data=2)
        assert await store.list_steps(RUN) == [first]
        assert len(await store.get_run_history(RUN)) == 1

    async def test_list_steps_reads_every_step_of_the_run_oldest_first(
        self, store: WorkflowStore
    ) -> None:
        names = ["zeta", "alpha", "mid"]
        for name in names:
            await store.insert_step(RUN, name)
            await anyio.sleep(0.003)
        await store.insert_step("other", "alpha")
        steps = await store.list_steps(RUN)
        assert [s.step_name for s in steps] == names
        assert {s.run_id for s in steps} == {RUN}
        assert await store.get_run_steps(RUN) == steps

    async def test_step_transitions_record_their_times_and_values(
        self, store: WorkflowStore
    ) -> None:
        step = await store.insert_step(RUN, "s")
        running = await store.set_step_running(step.step_id)
        assert running.status is StepStatus.RUNNING
        assert running.running_at is not None
        scheduled = await store.set_step_scheduled(step.step_id)
        assert scheduled.status is StepStatus.SCHEDULED
        assert scheduled.scheduled_at is not None
        await store.set_step_child_run_id(step.step_id, "child")
        await store.set_step_branch_taken(step.step_id, "left")
        done = await store.set_step_result(step.step_id, {"ok": [1, 2]})
        assert (done.status, done.result, done.child_run_id, done.branch_taken) == (
            StepStatus.SUCCEEDED, {"ok": [1, 2]}, "child", "left"
        )  # fmt: skip
        assert done.succeeded_at is not None
        assert done.updated_at >= step.updated_at
        assert await store.get_step(RUN, "s") == done
        [attempt] = await store.get_run_history(RUN)
        assert (attempt.status, attempt.result, attempt.succeeded_at) == (
            StepStatus.SUCCEEDED, {"ok": [1, 2]}, done.succeeded_at
        )  # fmt: skip
        suspended = await store.set_step_suspended(step.step_id)
        assert suspended.status is StepStatus.SUSPENDED
        with pytest.raises(NotFoundError):
            await store.set_step_running("no-such-step")

    async def test_a_retry_attempt_clears_the_result_and_adds_a_history_row(
        self, store: WorkflowStore
    ) -> None:
        step = await store.insert_step(RUN, "s")
        await store.set_step_running(step.step_id)
        await store.set_step_error(step.step_id, {"message": "first"})
        await anyio.sleep(0.003)
        retry = await store.create_retry_attempt(step.step_id)
        assert (retry.attempt_count, retry.status) == (2, StepStatus.PENDING)
        assert (retry.error, retry.result, retry.failed_at, retry.running_at) == (None,) * 4
        assert retry.created_at == step.created_at
        await store.set_step_result(step.step_id, "second")
        history = await store.get_run_history(RUN)
        assert [(a.attempt, a.status, a.error, a.result) for a in history] == [
            (1, StepStatus.FAILED, {"message": "first"}, None),
            (2, StepStatus.SUCCEEDED, None, "second"),
        ]
        assert history[1].created_at > history[0].created_at
        running = await store.create_retry_attempt(step.step_id, "running")
        assert (running.attempt_count, running.status) == (3, StepStatus.RUNNING)

    async def test_claims_take_pending_scheduled_and_failed_steps_only(
        self, store: WorkflowStore
    ) -> None:
        step = await store.insert_step(RUN, "s")
        first = await store.claim_step(RUN, "s")
        assert first.won
        assert first.step.status is StepStatus.RUNNING
        assert first.step.running_at is not None
        again = await store.claim_step(RUN, "s")
        assert not again.won
        assert again.step == first.step
        await store.set_step_error(step.step_id, "boom")
        retry = await store.claim_step(RUN, "s")
        assert retry.won
        assert (retry.step.attempt_count, retry.step.error) == (2, None)
        assert [a.attempt for a in await store.get_run_history(RUN)] == [1, 2]
        await store.set_step_result(step.step_id, 1)
        assert not (await store.claim_step(RUN, "s")).won
        other = await store.insert_step(RUN, "t")
        await store.set_step_scheduled(other.step_id)
        assert (await store.claim_step(RUN, "t")).won
        with pytest.raises(NotFoundError):
            await store.claim_step(RUN, "nope")

    # -- recovery and retention -------------------------------------------------------------

    async def test_stalled_runs_are_running_runs_not_updated_since(
        self, store: WorkflowStore
    ) -> None:
        old = []
        for i in range(3):
            old.append(await store.create_run("wf", i))
            await anyio.sleep(0.003)  # distinct times: oldest first is well defined
        done = await store.create_run("wf")
        await store.update_run_status(done, "completed")
        await anyio.sleep(0.01)
        cutoff = _now()
        await anyio.sleep(0.01)
        await store.create_run("wf")
        await store.update_run_status(old[1], "running")  # touched after the cutoff
        stalled = await store.find_stalled_runs(cutoff)
        assert [r.id for r in stalled] == [old[0], old[2]]
        assert [r.id for r in await store.find_stalled_runs(cutoff, limit=1)] == [old[0]]

    async def test_undispatched_steps_are_pending_steps_not_updated_since(
        self, store: WorkflowStore
    ) -> None:
        waiting = []
        for i in range(3):
            waiting.append(await store.insert_step(RUN, f"s{i}"))
            await anyio.sleep(0.003)
        await store.claim_step(RUN, "s1")
        await anyio.sleep(0.01)
        cutoff = _now()
        await anyio.sleep(0.01)
        await store.insert_step(RUN, "late")
        found = await store.find_undispatched_steps(cutoff)
        assert [s.step_id for s in found] == [waiting[0].step_id, waiting[2].step_id]
        assert len(await store.find_undispatched_steps(cutoff, limit=1)) == 1

    async def test_prune_purges_finished_runs_older_than_the_retention(
        self, store_factory: StoreFactory, namespace: str, store: WorkflowStore
    ) -> None:
        assert await store.prune() == 0  # no retention configured: keeps everything
        async with store_factory.open_family(WORKFLOWS, retention_ms=200) as short:
            kept = short.build(store_factory.descriptor(namespace))
            old = await kept.create_run("wf", run_id="old")
            await kept.insert_step(old, "s")
            await kept.update_run_state(old, "k", 1)
            await kept.update_run_status(old, "completed")
            running = await kept.create_run("wf", run_id="running")
            await anyio.sleep(0.3)
            fresh = await kept.create_run("wf", run_id="fresh")
            await kept.update_run_status(fresh, "failed")
            assert await kept.prune() == 1
            assert {r.id for r in await kept.list_runs()} == {running, fresh}
            assert await kept.list_steps(old) == []
            assert await kept.get_run_state(old) == {}

    # -- versions and graph queries --------------------------------------------------------

    async def test_versions_upsert_once_and_change_status(self, store: WorkflowStore) -> None:
        assert await store.get_version("wf", "h1") is None
        await store.upsert_version(
            "wf", "h1", {"nodes": ["a"]}, source="def wf(): ...", status="draft"
        )
        await store.upsert_version("wf", "h1", {"nodes": ["changed"]})  # no-op
        version = await store.get_version("wf", "h1")
        assert version is not None
        assert (version.graph, version.source, version.status) == (
            {"nodes": ["a"]}, "def wf(): ...", VersionStatus.DRAFT
        )  # fmt: skip
        await store.set_version_status("wf", "h1", "active")
        again = await store.get_version("wf", "h1")
        assert again is not None
        assert again.status is VersionStatus.ACTIVE
        with pytest.raises(NotFoundError):
            await store.set_version_status("wf", "nope", "declined")

    async def test_graph_queries_read_node_states_of_a_run(self, store: WorkflowStore) -> None:
        results: dict[str, Any] = {}
        for name, outcome in [("a", "ok"), ("b", "fail"), ("c", "ok"), ("fan:0", "ok")]:
            step = await store.insert_step(RUN, name)
            await anyio.sleep(0.002)
            if outcome == "ok":
                await store.set_step_result(step.step_id, {"from": name})
                results[name] = {"from": name}
            else:
                await store.set_step_error(step.step_id, "x")
        await store.set_step_branch_taken((await store.get_step(RUN, "a")).step_id, "yes")
        await store.insert_step(RUN, "fan:1")
        assert await store.completed_node_ids(RUN) == ["a", "c", "fan:0"]
        assert await store.failed_node_ids(RUN) == ["b"]
        assert await store.branch_keys(RUN) == {"a": "yes"}
        assert await store.node_results(RUN, ["a", "b", "zzz"]) == {"a": {"from": "a"}}
        assert [s.step_name for s in await store.step_instances(RUN, "fan")] == ["fan:0", "fan:1"]
