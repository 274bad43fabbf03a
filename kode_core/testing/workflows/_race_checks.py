"""Races and the run lock, with real concurrent writers: tasks, and other OS processes.

The claim and unique-step races are repeated (:attr:`RaceChecks.race_rounds`) so a
backend that is only usually atomic fails here.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import anyio.to_thread
import pytest

from ..._errors import ConflictError, LockTimeoutError
from ...workflows import StepStatus, WorkflowStore
from .._factory import StoreFactory
from ..agents._processes import start, wait_for_file
from ._processes import claim_steps, hold_run_lock, insert_steps, write_state_keys

RUN = "run-race"
RIVALS = 16
#: A short lease, so the lock tests see leases lapse and renew within seconds.
LEASE = 0.6


async def _join(processes: Sequence[Any], within: float = 120) -> None:
    try:
        for process in processes:
            await anyio.to_thread.run_sync(process.join, within)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)


async def _race_processes(
    tmp_path: Path, target: Callable[..., None], args: Sequence[Any], count: int = 2
) -> list[str]:
    """Run ``target(*args, signal_dir, me)`` in ``count`` processes started together."""
    processes = [start(target, *args, str(tmp_path), f"p{i}") for i in range(count)]
    try:
        for i in range(count):
            await wait_for_file(tmp_path / f"ready-p{i}")
        (tmp_path / "go").touch()
        reports = [await wait_for_file(tmp_path / f"done-p{i}", 120) for i in range(count)]
    finally:
        await _join(processes)
    return reports


async def _cannot_take(store: WorkflowStore, run_id: str) -> bool:
    try:
        async with store.run_lock(run_id, timeout=0.05, lease=LEASE):
            return False
    except LockTimeoutError:
        return True


async def _insert(store: WorkflowStore, name: str, writer: int, outcomes: list[str]) -> None:
    try:
        await store.insert_step(RUN, name, data={"writer": writer})
        outcomes.append("won")
    except ConflictError:
        outcomes.append("lost")


async def _claim(store: WorkflowStore, name: str, results: list[bool]) -> None:
    results.append((await store.claim_step(RUN, name)).won)


@pytest.mark.anyio
class RaceChecks:
    """Unique steps, atomic claims, per-key state and the run lock under real concurrency."""

    #: How many times each task race is run (each round on fresh steps).
    race_rounds: ClassVar[int] = 5

    if TYPE_CHECKING:  # provided by ConformanceSuite, which the suites mix this into

        def needs_processes(self) -> None: ...

    # -- unique steps -----------------------------------------------------------------------

    async def test_of_concurrent_inserts_of_one_step_exactly_one_wins(
        self, store: WorkflowStore
    ) -> None:
        for round_ in range(self.race_rounds):
            name = f"step-{round_}"
            outcomes: list[str] = []
            async with anyio.create_task_group() as tg:
                for writer in range(RIVALS):
                    tg.start_soon(_insert, store, name, writer, outcomes)
            assert sorted(outcomes) == ["lost"] * (RIVALS - 1) + ["won"]
        steps = await store.list_steps(RUN)
        assert sorted(s.step_name for s in steps) == [f"step-{r}" for r in range(self.race_rounds)]
        assert len(await store.get_run_history(RUN)) == self.race_rounds

    async def test_processes_inserting_the_same_steps_store_each_once(
        self, store: WorkflowStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        names = [f"s{i}" for i in range(8)]
        args = (store_factory, namespace, RUN, names, RIVALS // 2)
        reports = [json.loads(text) for text in await _race_processes(tmp_path, insert_steps, args)]
        for name in names:
            assert sum(r["won"][name] for r in reports) == 1, name
            assert sum(r["lost"][name] for r in reports) == RIVALS - 1, name
        assert sorted(s.step_name for s in await store.list_steps(RUN)) == names

    # -- claims ---------------------------------------------------------------------------

    async def test_of_concurrent_claimers_exactly_one_wins(self, store: WorkflowStore) -> None:
        for round_ in range(self.race_rounds):
            step = await store.insert_step(RUN, f"claim-{round_}")
            if round_ % 2:  # odd rounds race for a failed step's new attempt
                await store.set_step_error(step.step_id, "boom")
            results: list[bool] = []
            async with anyio.create_task_group() as tg:
                for _ in range(RIVALS):
                    tg.start_soon(_claim, store, step.step_name, results)
            assert results.count(True) == 1, f"round {round_}: {results.count(True)} winners"
            after = await store.get_step(RUN, step.step_name)
            assert after.status is StepStatus.RUNNING
            assert after.attempt_count == 1 + round_ % 2
        history = await store.get_run_history(RUN)
        assert len(history) == self.race_rounds + self.race_rounds // 2

    async def test_of_claimers_in_two_processes_exactly_one_wins(
        self, store: WorkflowStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        names = [f"c{i}" for i in range(8)]
        for name in names:
            await store.insert_step(RUN, name)
        args = (store_factory, namespace, RUN, names, RIVALS // 2)
        reports = [json.loads(text) for text in await _race_processes(tmp_path, claim_steps, args)]
        for name in names:
            assert sum(r[name] for r in reports) == 1, name
        steps = await store.list_steps(RUN)
        assert {s.status for s in steps} == {StepStatus.RUNNING}

    # -- run state ------------------------------------------------------------------------

    async def test_concurrent_writers_of_different_state_keys_lose_none(
        self, store: WorkflowStore
    ) -> None:
        for round_ in range(self.race_rounds):
            run_id = f"{RUN}-{round_}"
            async with anyio.create_task_group() as tg:
                for key in range(RIVALS):
                    tg.start_soon(store.update_run_state, run_id, f"k{key}", key)
            assert await store.get_run_state(run_id) == {f"k{key}": key for key in range(RIVALS)}

    async def test_state_writers_in_two_processes_lose_no_key(
        self, store: WorkflowStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        keys = [f"k{i:02d}" for i in range(RIVALS)]
        processes = [
            start(
                write_state_keys, store_factory, namespace, RUN, keys[i::2], str(tmp_path), f"p{i}"
            )
            for i in range(2)
        ]
        try:
            for i in range(2):
                await wait_for_file(tmp_path / f"ready-p{i}")
            (tmp_path / "go").touch()
        finally:
            await _join(processes)
        assert await store.get_run_state(RUN) == {key: {"by": key} for key in keys}

    # -- the run lock ---------------------------------------------------------------------

    async def test_a_held_run_lock_makes_others_wait_then_time_out(
        self, store: WorkflowStore
    ) -> None:
        async with store.run_lock(RUN, timeout=5, lease=LEASE) as lock:
            assert lock.run_id == RUN
            token = lock.token
            started = time.monotonic()
            with pytest.raises(LockTimeoutError, match=RUN):
                async with store.run_lock(RUN, timeout=0.3, lease=LEASE):
                    pass
            assert time.monotonic() - started >= 0.3
        async with store.run_lock(RUN, timeout=0.5) as again:
            assert again.token > token

    async def test_a_waiter_takes_the_run_lock_when_it_is_released(
        self, store: WorkflowStore
    ) -> None:
        order: list[str] = []
        held = anyio.Event()

        async def holder() -> None:
            async with store.run_lock(RUN, timeout=5, lease=LEASE):
                held.set()
                await anyio.sleep(0.2)
                order.append("holder done")

        async def waiter() -> None:
            await held.wait()
            async with store.run_lock(RUN, timeout=5, lease=LEASE):
                order.append("waiter in")

        async with anyio.create_task_group() as tg:
            tg.start_soon(holder)
            tg.start_soon(waiter)
        assert order == ["holder done", "waiter in"]

    async def test_an_error_in_the_block_propagates_as_itself_and_frees_the_lock(
        self, store: WorkflowStore
    ) -> None:
        with pytest.raises(KeyError, match="inside"):
            async with store.run_lock(RUN, timeout=5, lease=LEASE):
                raise KeyError("inside")
        async with store.run_lock(RUN, timeout=0.5, lease=LEASE):
            pass

    async def test_a_holder_past_three_leases_keeps_the_run_lock(
        self, store: WorkflowStore
    ) -> None:
        async with store.run_lock(RUN, timeout=5, lease=LEASE) as lock:
            deadline = time.monotonic() + 3.5 * LEASE
            while time.monotonic() < deadline:
                assert await _cannot_take(store, RUN)
                await anyio.sleep(LEASE / 4)
            assert not lock.lost
        assert not await _cannot_take(store, RUN)

    async def test_locks_of_different_runs_never_collide(self, store: WorkflowStore) -> None:
        async with store.run_lock("r1", timeout=1), store.run_lock("r2", timeout=1):
            pass

    async def test_a_holder_process_past_three_leases_keeps_the_run_lock(
        self, store: WorkflowStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        hold = 4 * LEASE
        args = (store_factory, namespace, RUN, LEASE, hold, str(tmp_path))
        holder = start(hold_run_lock, *args)
        try:
            token = int(await wait_for_file(tmp_path / "acquired"))
            deadline = time.monotonic() + 3 * LEASE
            while time.monotonic() < deadline:
                assert await _cannot_take(store, RUN)
                await anyio.sleep(LEASE / 4)
            async with store.run_lock(RUN, timeout=30, lease=LEASE) as lock:
                released = json.loads(await wait_for_file(tmp_path / "released", 1))
                assert lock.token > token
            assert released == {"lost": False}
        finally:
            await _join([holder])

    async def test_a_holder_killed_with_sigkill_frees_the_run_lock_within_one_lease(
        self, store: WorkflowStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        args = (store_factory, namespace, RUN, LEASE, 600.0, str(tmp_path))
        holder = start(hold_run_lock, *args)
        try:
            token = int(await wait_for_file(tmp_path / "acquired"))
            assert await _cannot_take(store, RUN)
            assert holder.pid is not None
            os.kill(holder.pid, signal.SIGKILL)
            killed = time.monotonic()
            async with store.run_lock(RUN, timeout=10, lease=LEASE) as lock:
                waited = time.monotonic() - killed
                assert lock.token > token
            # The lease was renewed at most a third of a lease before the kill; the
            # waiter polls every 0.25 s at most.
            assert waited <= LEASE + 0.3, f"took {waited:.2f}s after the kill"
        finally:
            holder.join(10)
            if holder.is_alive():
                holder.kill()
