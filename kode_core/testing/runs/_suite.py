"""The run-store conformance suite: subclass it and provide ``store_factory``::

class TestSqliteRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, tmp_path):
        return StoreFactory("sqlite", {"path": str(tmp_path / "kode.db")}, ("kode_sqlite",))
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from ..._builders import BackendPool
from ..._errors import ConflictError, InvalidRecordError, NotFoundError
from ...runs import Run, RunScore, RunStatus, RunStore
from ...threads import ThreadStore
from .._factory import StoreFactory, unique_namespace
from .._suite_base import ConformanceSuite
from ..agents._processes import start, wait_for_file
from . import samples as sample
from ._processes import claim_rounds

#: Rounds of the approval race, each 32 callers across 2 processes (or tasks).
RACE_ROUNDS = 20
RACE_PROCESSES = 2
RACE_CALLERS = 16


@pytest.mark.anyio
class RunStoreConformance(ConformanceSuite):
    """Runs, the three pending-approval kinds, the atomic claim, scores."""

    @pytest.fixture
    async def pool(self, store_factory: StoreFactory) -> AsyncIterator[BackendPool]:
        defaults = {**store_factory.defaults, "max_entry_bytes": 65_536}
        async with BackendPool(
            {store_factory.kind: defaults}, registry=store_factory.registry()
        ) as pool:
            yield pool

    @pytest.fixture
    def namespace(self) -> str:
        return unique_namespace("r")

    @pytest.fixture
    def runs(self, pool: BackendPool, store_factory: StoreFactory, namespace: str) -> RunStore:
        store = pool.build("runs", store_factory.descriptor(namespace))
        assert isinstance(store, RunStore)
        return store

    @pytest.fixture
    def threads(
        self, pool: BackendPool, store_factory: StoreFactory, namespace: str
    ) -> ThreadStore:
        store = pool.build("threads", store_factory.descriptor(namespace))
        assert isinstance(store, ThreadStore)
        return store

    # -- runs -------------------------------------------------------------------------

    async def test_a_run_with_every_field_round_trips(self, runs: RunStore) -> None:
        data = sample.run(
            "r1",
            "t1",
            status="suspended",
            error_message="boom",
            suspend_reason="approval",
            missing_rpcs=["rpc.a", "rpc.b"],
            pending_approvals=sample.THREE_APPROVALS,
            tracing={"span": "x"},
        )
        assert await runs.create_run(data) == "r1"
        stored = await runs.get_run("r1")
        assert stored is not None
        assert stored.to_dict() == Run.from_dict(data).to_dict()
        assert [type(a).__name__ for a in stored.pending_approvals or ()] == [
            "ToolApproval",
            "AgentCallApproval",
            "CredentialApproval",
        ]

    async def test_an_unknown_run_is_none_and_a_run_id_is_unique(self, runs: RunStore) -> None:
        assert await runs.get_run("nope") is None
        await runs.create_run(sample.run("r1", "t1"))
        with pytest.raises(ConflictError):
            await runs.create_run(sample.run("r1", "t2"))
        assert (await runs.get_run("r1")).thread_id == "t1"  # type: ignore[union-attr]

    async def test_a_tool_call_id_belongs_to_one_run(self, runs: RunStore) -> None:
        await runs.create_run(sample.suspended_run("r1", "t1", [sample.tool_approval("x")]))
        with pytest.raises(ConflictError):
            await runs.create_run(sample.suspended_run("r2", "t1", [sample.tool_approval("x")]))
        assert await runs.get_run("r2") is None

    async def test_update_run_changes_the_named_fields_and_the_update_time(
        self, runs: RunStore
    ) -> None:
        await runs.create_run(sample.run("r1", "t1", error_message="old"))
        updated = await runs.update_run(
            "r1",
            status="failed",
            error_message=None,
            usage={"input_tokens": 1, "output_tokens": 2, "model": "m-2"},
        )
        assert updated.status is RunStatus.FAILED
        assert updated.error_message is None
        assert updated.usage.model == "m-2"
        assert updated.updated_at > updated.created_at
        assert await runs.get_run("r1") == updated

    async def test_update_run_refuses_unknown_fields_and_values_and_missing_runs(
        self, runs: RunStore
    ) -> None:
        await runs.create_run(sample.run("r1", "t1"))
        with pytest.raises(InvalidRecordError, match=r"changes\.run_id"):
            await runs.update_run("r1", run_id="r2")
        with pytest.raises(InvalidRecordError, match=r"changes\.status"):
            await runs.update_run("r1", status="paused")
        with pytest.raises(InvalidRecordError, match=r"changes\.missing_rpcs"):
            await runs.update_run("r1", missing_rpcs=[{1, 2}])
        with pytest.raises(NotFoundError):
            await runs.update_run("nope", status="failed")
        assert (await runs.get_run("r1")).status is RunStatus.RUNNING  # type: ignore[union-attr]

    async def test_runs_by_thread_come_newest_first(self, runs: RunStore) -> None:
        for i in (2, 0, 1):
            await runs.create_run(sample.run(f"r{i}", "t1", ms=i))
        await runs.create_run(sample.run("other", "t2"))
        assert [r.run_id for r in await runs.get_runs_by_thread("t1")] == ["r2", "r1", "r0"]
        assert await runs.get_runs_by_thread("none") == []

    # -- approvals --------------------------------------------------------------------

    async def test_find_run_by_tool_call_id_finds_pending_approvals_only(
        self, runs: RunStore
    ) -> None:
        await runs.create_run(sample.suspended_run("r1", "t1", sample.THREE_APPROVALS))
        for approval in sample.THREE_APPROVALS:
            found = await runs.find_run_by_tool_call_id(approval["tool_call_id"])
            assert found is not None
            assert found.run_id == "r1"
        assert await runs.find_run_by_tool_call_id("unknown") is None
        assert await runs.resolve_approval("ap-agent", "denied")
        assert await runs.find_run_by_tool_call_id("ap-agent") is None

    async def test_resolve_approval_moves_one_approval_and_keeps_the_status(
        self, runs: RunStore
    ) -> None:
        await runs.create_run(sample.suspended_run("r1", "t1", sample.THREE_APPROVALS))
        assert await runs.resolve_approval("ap-tool", "approved") is True
        assert await runs.resolve_approval("ap-tool", "denied") is False
        assert await runs.resolve_approval("never", "approved") is False
        run = await runs.get_run("r1")
        assert run is not None
        assert run.status is RunStatus.SUSPENDED
        assert [a.tool_call_id for a in run.pending_approvals or ()] == ["ap-agent", "ap-cred"]
        [resolved] = run.resolved_approvals or ()
        assert (resolved.tool_call_id, resolved.decision.value) == ("ap-tool", "approved")

    async def test_update_run_replaces_pending_approvals_and_keeps_decisions(
        self, runs: RunStore
    ) -> None:
        await runs.create_run(sample.suspended_run("r1", "t1", sample.THREE_APPROVALS[:2]))
        assert await runs.resolve_approval("ap-tool", "approved")
        run = await runs.update_run("r1", pending_approvals=[sample.tool_approval("new")])
        assert [a.tool_call_id for a in run.pending_approvals or ()] == ["new"]
        assert [r.tool_call_id for r in run.resolved_approvals or ()] == ["ap-tool"]
        assert await runs.find_run_by_tool_call_id("ap-agent") is None
        assert (await runs.find_run_by_tool_call_id("new")).run_id == "r1"  # type: ignore[union-attr]
        run = await runs.update_run("r1", status="running", pending_approvals=[])
        assert run.pending_approvals == ()
        assert run.status is RunStatus.RUNNING

    async def test_a_status_update_never_undoes_a_claim(self, runs: RunStore) -> None:
        await runs.create_run(sample.suspended_run("r1", "t1", sample.THREE_APPROVALS))
        async with anyio.create_task_group() as group:
            group.start_soon(runs.resolve_approval, "ap-cred", "approved")
            for _ in range(5):
                group.start_soon(lambda: runs.update_run("r1", error_message="x"))
        run = await runs.get_run("r1")
        assert run is not None
        assert "ap-cred" not in [a.tool_call_id for a in run.pending_approvals or ()]
        assert [r.tool_call_id for r in run.resolved_approvals or ()] == ["ap-cred"]

    async def test_32_concurrent_claims_have_one_winner_in_tasks(self, runs: RunStore) -> None:
        for r in range(5):
            await runs.create_run(
                sample.suspended_run(f"r{r}", "t", [sample.tool_approval(f"c{r}")])
            )
            results: list[bool] = []

            async def claim(r: int = r, results: list[bool] = results) -> None:
                results.append(await runs.resolve_approval(f"c{r}", "approved"))

            async with anyio.create_task_group() as group:
                for _ in range(32):
                    group.start_soon(claim)
            assert results.count(True) == 1, results
            await self._check_resolved_once(runs, f"r{r}", f"c{r}")

    async def test_32_claims_across_2_processes_have_one_winner_20_times_in_a_row(
        self, runs: RunStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        signals = tmp_path / "signals"
        signals.mkdir()
        workers = [
            start(
                claim_rounds,
                store_factory,
                namespace,
                RACE_ROUNDS,
                RACE_CALLERS,
                str(signals),
                f"p{i}",
            )
            for i in range(RACE_PROCESSES)
        ]
        try:
            for i in range(RACE_PROCESSES):
                await wait_for_file(signals / f"ready-p{i}")
            for r in range(RACE_ROUNDS):
                approval = sample.tool_approval(f"race-{r}")
                await runs.create_run(sample.suspended_run(f"race-run-{r}", "t", [approval]))
                (signals / f"go-{r}").touch()
                wins = [
                    int(await wait_for_file(signals / f"won-{r}-p{i}"))
                    for i in range(RACE_PROCESSES)
                ]
                assert sum(wins) == 1, f"round {r}: {wins} winners per process"
                await self._check_resolved_once(runs, f"race-run-{r}", f"race-{r}")
        finally:
            for worker in workers:
                worker.join(timeout=30)
                if worker.is_alive():
                    worker.kill()
        assert [w.exitcode for w in workers] == [0] * RACE_PROCESSES

    @staticmethod
    async def _check_resolved_once(runs: RunStore, run_id: str, tool_call_id: str) -> None:
        run = await runs.get_run(run_id)
        assert run is not None
        assert run.status is RunStatus.SUSPENDED
        assert run.pending_approvals == ()
        assert [r.tool_call_id for r in run.resolved_approvals or ()] == [tool_call_id]
        assert await runs.find_run_by_tool_call_id(tool_call_id) is None

    # -- scores -----------------------------------------------------------------------

    async def test_scores_are_appended_and_round_trip(self, runs: RunStore) -> None:
        first = RunScore(
            run_id="r1", scorer_name="judge", score=0.5, reason="ok", metadata={"k": [1]}
        )
        second = RunScore(run_id="r1", scorer_name="judge", score=1, created_at=first.created_at)
        await runs.save_score(first)
        await runs.save_score(second)
        await runs.save_score({"run_id": "r2", "scorer_name": "x", "score": -3.25})
        assert await runs.get_scores("r1") == [first, second]
        assert await runs.get_scores("none") == []

    # -- bad input --------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"status": "paused"}, "run.status"),
            ({"run_id": ""}, "run.run_id"),
            ({"suspend_reason": "bored"}, "run.suspend_reason"),
            ({"usage": {"input_tokens": -1}}, "run.usage.input_tokens"),
            ({"pending_approvals": [{"type": "phone-call", "tool_call_id": "p"}]}, "type"),
            ({"pending_approvals": [sample.tool_approval("d"), sample.tool_approval("d")]}, "d"),
            ({"error_message": "x" * 70_000}, "run"),
            ({"metrics": {"ratio": math.nan}}, "run"),
        ],
    )
    async def test_a_bad_run_is_refused_before_any_write(
        self, runs: RunStore, change: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(InvalidRecordError, match=field.replace(".", r"\.")):
            await runs.create_run({**sample.run("bad", "t1"), **change})
        assert await runs.get_run("bad") is None
        assert await runs.get_runs_by_thread("t1") == []

    async def test_bad_decisions_scores_and_ids_are_refused(self, runs: RunStore) -> None:
        await runs.create_run(sample.suspended_run("r1", "t1", [sample.tool_approval("c")]))
        with pytest.raises(InvalidRecordError, match="decision"):
            await runs.resolve_approval("c", "maybe")
        with pytest.raises(InvalidRecordError, match=r"score\.score"):
            await runs.save_score({"run_id": "r1", "scorer_name": "j", "score": "high"})
        with pytest.raises(InvalidRecordError, match="run_id"):
            await runs.get_run("a\x00b")
        assert await runs.get_scores("r1") == []
        assert (await runs.find_run_by_tool_call_id("c")) is not None
