"""Conformance checks of the ``ExtendedAgentStore`` layer (mixed into the suites).

Health, metrics, consistency, fork, the lock (with holders in other processes,
one of them killed) and concurrent whole-list saves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs
import pytest

from ..._errors import InvalidDataError, InvalidRecordError, LockTimeoutError, NotFoundError
from ...agents import ExtendedAgentStore
from .._factory import StoreFactory
from . import samples as sample
from ._processes import hold_lock, save_own_list, start, wait_for_file
from .samples import AGENT, everything, fill

WRITERS = 8


def _lists(writers: int) -> list[list[dict[str, object]]]:
    return [
        [m.to_dict() for m in sample.conversation(20 + w, f"writer{w}")] for w in range(writers)
    ]


@pytest.mark.anyio
class ExtendedChecks:
    """Health, consistency, metrics, the distributed lock and fork."""

    if TYPE_CHECKING:  # provided by ConformanceSuite, which the suites mix this into

        def needs_processes(self) -> None: ...

    # -- health, metrics, consistency ---------------------------------------------------------

    async def test_health_check_times_a_real_round_trip(self, store: ExtendedAgentStore) -> None:
        health = await store.health_check()
        assert health.healthy
        assert health.reachable
        assert health.latency_ms is not None
        assert health.latency_ms >= 0
        assert health.checked_at.tzinfo is not None

    async def test_metrics_count_operations_by_kind(self, store: ExtendedAgentStore) -> None:
        start_metrics = await store.metrics()
        await store.save_messages(AGENT, sample.conversation(3))
        await store.save_todos(AGENT, sample.todos())
        await store.load_messages(AGENT)
        await store.query_messages(agent_id=AGENT)
        await store.delete(AGENT)
        metrics = await store.metrics()
        counts = {
            kind: metrics.operations[kind].count - start_metrics.operations[kind].count
            for kind in metrics.operations
        }
        assert counts["saves"] == 2
        assert counts["loads"] == 1
        assert counts["queries"] == 1
        assert counts["deletes"] == 1
        assert metrics.total_operations - start_metrics.total_operations == sum(counts.values())
        saves = metrics.operations["saves"]
        assert saves.min_ms is not None
        assert saves.max_ms is not None
        assert saves.avg_ms is not None
        assert 0 <= saves.min_ms <= saves.avg_ms <= saves.max_ms

    async def test_storage_size_is_reported_when_the_engine_knows_it(
        self, store: ExtendedAgentStore
    ) -> None:
        await fill(store, AGENT)
        size = (await store.metrics()).storage_bytes
        assert size is None or size > 0

    async def test_check_consistency_finds_each_kind_of_problem(
        self, store: ExtendedAgentStore
    ) -> None:
        await fill(store, AGENT)
        assert (await store.check_consistency(AGENT)).consistent
        await store.save_info(AGENT, sample.agent_info(AGENT, messages=9))
        [mismatch] = (await store.check_consistency(AGENT)).issues
        assert "message_count is 9" in mismatch
        assert "5 messages" in mismatch
        await store.save_messages("orphan", sample.conversation(2))
        assert (await store.check_consistency("orphan")).issues == ("the info record is missing",)
        await store.save_info("tools", sample.agent_info("tools"))
        nameless = attrs.evolve(sample.tool_call("c1"), name="")
        await store.save_tool_call_records("tools", [sample.tool_call(""), nameless])
        issues = (await store.check_consistency("tools")).issues
        assert issues == ("tool call record 0 has no id", "tool call record 1 ('c1') has no name")
        assert (await store.check_consistency("never-written")).consistent

    # -- fork ------------------------------------------------------------------------------------

    async def test_fork_copies_every_record_family(self, store: ExtendedAgentStore) -> None:
        await fill(store, AGENT)
        source = await everything(store, AGENT)
        source_times = [m.created_at for m in await store.query_messages(agent_id=AGENT)]
        forks = await store.fork(AGENT, 2)
        assert len(set(forks)) == 2
        assert AGENT not in forks
        for fork_id in forks:
            copied = await everything(store, fork_id)
            for family in source:
                if family != "info":
                    assert copied[family] == source[family], family
            info = copied["info"]
            assert info.agent_id == fork_id
            assert info.lineage[-1] == AGENT
            assert (
                attrs.evolve(info, agent_id=AGENT, lineage=(), created_at=source["info"].created_at)
                == source["info"]
            )
            times = [m.created_at for m in await store.query_messages(agent_id=fork_id)]
            assert times == source_times
        assert await everything(store, AGENT) == source
        assert set(await store.list_agents()) == {AGENT, *forks}
        deeper = await store.fork(forks[0])
        assert (await store.load_info(deeper[0])).lineage[-2:] == (AGENT, forks[0])  # type: ignore[union-attr]

    async def test_a_fork_of_the_longest_agent_id_is_an_id_every_method_accepts(
        self, store: ExtendedAgentStore
    ) -> None:
        longest = "a" * 500 + "\U0001f600" * 12  # 512 characters, some of 4 UTF-8 bytes
        await fill(store, longest)
        [fork] = await store.fork(longest)
        assert len(fork) <= 512
        assert await store.list_agents() == sorted([longest, fork])
        info = await store.load_info(fork)
        assert info is not None
        assert info.lineage[-1] == longest
        assert await store.load_messages(fork) == await store.load_messages(longest)
        await store.delete(fork)
        assert await store.list_agents() == [longest]

    async def test_fork_refuses_bad_counts_and_unknown_agents(
        self, store: ExtendedAgentStore
    ) -> None:
        await fill(store, AGENT)
        for count in (0, -1, 101, "2", True):
            with pytest.raises(InvalidRecordError, match="count"):
                await store.fork(AGENT, count)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            await store.fork("nobody")
        assert await store.list_agents() == [AGENT]

    # -- the lock -------------------------------------------------------------------------------

    async def test_lock_tokens_increase_with_every_grant(self, store: ExtendedAgentStore) -> None:
        tokens = []
        for _ in range(3):
            async with store.acquire_agent_lock(AGENT, timeout=5) as lock:
                tokens.append(lock.token)
        await store.delete(AGENT)
        async with store.acquire_agent_lock(AGENT, timeout=5) as lock:
            tokens.append(lock.token)
        assert tokens == sorted(set(tokens))
        assert len(tokens) == 4

    async def test_a_held_lock_makes_others_wait_then_time_out(
        self, store: ExtendedAgentStore
    ) -> None:
        async with store.acquire_agent_lock(AGENT, timeout=5):
            started = time.monotonic()
            with pytest.raises(LockTimeoutError):
                async with store.acquire_agent_lock(AGENT, timeout=0.3):
                    pass
            assert time.monotonic() - started >= 0.25

    async def test_a_waiter_gets_the_lock_once_it_is_released(
        self, store: ExtendedAgentStore
    ) -> None:
        released_at = 0.0
        tokens: list[int] = []
        held = anyio.Event()

        async def holder() -> None:
            nonlocal released_at
            async with store.acquire_agent_lock(AGENT, timeout=5) as lock:
                tokens.append(lock.token)
                held.set()  # the waiter starts only once the lock is really held
                await anyio.sleep(0.3)
                released_at = time.monotonic()

        async with anyio.create_task_group() as tg:
            tg.start_soon(holder)
            with anyio.fail_after(10):
                await held.wait()
            async with store.acquire_agent_lock(AGENT, timeout=5) as lock:
                assert time.monotonic() >= released_at > 0
                tokens.append(lock.token)
        assert tokens[1] > tokens[0]

    async def test_an_error_in_the_body_propagates_as_is_and_releases_the_lock(
        self, store: ExtendedAgentStore
    ) -> None:
        with pytest.raises(KeyError, match="boom"):
            async with store.acquire_agent_lock(AGENT, timeout=5):
                raise KeyError("boom")
        with anyio.move_on_after(0.1):
            async with store.acquire_agent_lock(AGENT, timeout=5):
                await anyio.sleep(5)
        async with store.acquire_agent_lock(AGENT, timeout=0.5) as lock:
            assert lock.token >= 2

    async def test_locks_of_different_agents_never_collide(self, store: ExtendedAgentStore) -> None:
        agent_ids = [f"agent-{i}" for i in range(40)] + ["a%", "a_", "a", "A", "é", "😀"]
        async with contextlib.AsyncExitStack() as stack:
            for agent_id in agent_ids:
                await stack.enter_async_context(store.acquire_agent_lock(agent_id, timeout=0.5))

    async def test_a_held_lock_is_renewed_past_its_lease(self, store: ExtendedAgentStore) -> None:
        # A lease of 1 s renewed every third of it, held for more than two leases.
        async with store.acquire_agent_lock(AGENT, timeout=5, lease=1.0) as lock:
            await anyio.sleep(2.2)
            with pytest.raises(LockTimeoutError):
                async with store.acquire_agent_lock(AGENT, timeout=0.3, lease=1.0):
                    pass
            assert not lock.lost

    async def test_lock_arguments_are_checked(self, store: ExtendedAgentStore) -> None:
        for bad in (0, -1, float("inf"), "1"):
            with pytest.raises(InvalidDataError):
                store.acquire_agent_lock(AGENT, timeout=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidRecordError):
            store.acquire_agent_lock("")

    async def test_two_processes_contend_for_one_lock(
        self, store: ExtendedAgentStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        holder = start(hold_lock, store_factory, namespace, AGENT, 5.0, 1.0, str(tmp_path))
        try:
            held_token = int(await wait_for_file(tmp_path / "acquired"))
            async with store.acquire_agent_lock(AGENT, timeout=30) as lock:
                assert (tmp_path / "released").exists()
                assert lock.token > held_token
        finally:
            holder.join(30)
        assert holder.exitcode == 0

    async def test_a_killed_holder_loses_the_lock_after_its_lease(
        self, store: ExtendedAgentStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        holder = start(hold_lock, store_factory, namespace, AGENT, 1.0, 600.0, str(tmp_path))
        try:
            held_token = int(await wait_for_file(tmp_path / "acquired"))
            with pytest.raises(LockTimeoutError):
                async with store.acquire_agent_lock(AGENT, timeout=0.2):
                    pass
            assert holder.pid is not None
            os.kill(holder.pid, signal.SIGKILL)
            holder.join(10)
            async with store.acquire_agent_lock(AGENT, timeout=10) as lock:
                assert lock.token > held_token
        finally:
            if holder.is_alive():
                holder.kill()

    # -- whole-list saves under concurrency ----------------------------------------------

    async def test_concurrent_saves_end_in_exactly_one_writers_list(
        self, store: ExtendedAgentStore
    ) -> None:
        lists = _lists(WRITERS)
        for _ in range(3):
            async with anyio.create_task_group() as tg:
                for messages in lists:
                    tg.start_soon(store.save_messages, AGENT, messages)
            final = [m.to_dict() for m in await store.load_messages(AGENT)]
            assert final in lists

    async def test_concurrent_saves_from_processes_end_in_one_writers_list(
        self, store: ExtendedAgentStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        writers = 4
        processes = [
            start(save_own_list, store_factory, namespace, AGENT, w, 5, str(tmp_path))
            for w in range(writers)
        ]
        try:
            for w in range(writers):
                await wait_for_file(tmp_path / f"ready-{w}")
            (tmp_path / "go").touch()
            for process in processes:
                await anyio.to_thread.run_sync(process.join, 120)
        finally:
            for process in processes:
                if process.is_alive():
                    process.kill()
        assert [p.exitcode for p in processes] == [0] * writers
        final = [m.to_dict() for m in await store.load_messages(AGENT)]
        assert final in _lists(writers)
