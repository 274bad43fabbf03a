"""What the workflow-store kit runs in other OS processes: rival writers and lock holders.

Each function is a process target (``multiprocessing`` spawn context): it opens the
backend from a picklable :class:`StoreFactory`, waits for the test's ``go`` file so
every process starts its writes together, and reports through files in ``signal_dir``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from ..._errors import ConflictError
from ...workflows import WORKFLOWS, WorkflowStore
from .._factory import StoreFactory


def _report(signal_dir: str, name: str, text: str) -> None:
    """Write ``name`` atomically, so the test never reads half a file."""
    Path(signal_dir, f"{name}.tmp").write_text(text)
    Path(signal_dir, f"{name}.tmp").rename(Path(signal_dir, name))


def _wait_for_go(signal_dir: str) -> None:
    deadline = time.monotonic() + 60
    while not Path(signal_dir, "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal within 60 s")
        time.sleep(0.002)


def _run(
    factory: StoreFactory, namespace: str, work: Callable[[WorkflowStore], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with factory.open_family(WORKFLOWS) as workflows:
            store = workflows.build(factory.descriptor(namespace))
            await store.get_run_state("warm-up")  # connect and migrate before the race
            await work(store)

    anyio.run(main)


def write_state_keys(
    factory: StoreFactory, namespace: str, run_id: str, keys: list[str], signal_dir: str, me: str
) -> None:
    """Write each of ``keys`` (value: the key) to the run's state, all at once, on go."""

    async def work(store: WorkflowStore) -> None:
        _report(signal_dir, f"ready-{me}", "")
        _wait_for_go(signal_dir)
        async with anyio.create_task_group() as tg:
            for key in keys:
                tg.start_soon(store.update_run_state, run_id, key, {"by": key})
        _report(signal_dir, f"done-{me}", "")

    _run(factory, namespace, work)


def insert_steps(
    factory: StoreFactory,
    namespace: str,
    run_id: str,
    names: list[str],
    rivals: int,
    signal_dir: str,
    me: str,
) -> None:
    """Insert every step of ``names`` from ``rivals`` tasks each; report inserts per name."""

    async def work(store: WorkflowStore) -> None:
        won = dict.fromkeys(names, 0)
        lost = dict.fromkeys(names, 0)

        async def insert(name: str) -> None:
            try:
                await store.insert_step(run_id, name, data={"by": me})
            except ConflictError:
                lost[name] += 1
            else:
                won[name] += 1

        _report(signal_dir, f"ready-{me}", "")
        _wait_for_go(signal_dir)
        async with anyio.create_task_group() as tg:
            for name in names:
                for _ in range(rivals):
                    tg.start_soon(insert, name)
        _report(signal_dir, f"done-{me}", json.dumps({"won": won, "lost": lost}))

    _run(factory, namespace, work)


def claim_steps(
    factory: StoreFactory,
    namespace: str,
    run_id: str,
    names: list[str],
    rivals: int,
    signal_dir: str,
    me: str,
) -> None:
    """Claim every step of ``names`` from ``rivals`` tasks each; report wins per name."""

    async def work(store: WorkflowStore) -> None:
        async def claim(name: str) -> bool:
            return (await store.claim_step(run_id, name)).won

        await _race(names, rivals, claim, signal_dir, me)

    _run(factory, namespace, work)


def hold_run_lock(
    factory: StoreFactory, namespace: str, run_id: str, lease: float, hold: float, signal_dir: str
) -> None:
    """Take the run's lock, report its token in ``acquired``, hold it ``hold`` s, release."""

    async def work(store: WorkflowStore) -> None:
        async with store.run_lock(run_id, timeout=30, lease=lease) as lock:
            _report(signal_dir, "acquired", str(lock.token))
            await anyio.sleep(hold)
            lost = lock.lost
        _report(signal_dir, "released", json.dumps({"lost": lost}))

    _run(factory, namespace, work)


def import_runs(
    factory: StoreFactory, namespace: str, run_ids: list[str], rivals: int, signal_dir: str, me: str
) -> None:
    """Import the kit's full run under each of ``run_ids`` from ``rivals`` tasks each, on
    go; report how many imports stored each run."""
    from ._import_checks import full_run  # the kit's run with every field set

    async def work(store: WorkflowStore) -> None:
        async def restore(run_id: str) -> bool:
            return await store.import_run(*full_run(run_id))

        await _race(run_ids, rivals, restore, signal_dir, me)

    _run(factory, namespace, work)


async def _race(
    keys: list[str],
    rivals: int,
    attempt: Callable[[str], Awaitable[bool]],
    signal_dir: str,
    me: str,
) -> None:
    """On go, ``attempt`` each of ``keys`` from ``rivals`` tasks; report the successes
    per key in ``done-<me>``."""
    wins = dict.fromkeys(keys, 0)

    async def one(key: str) -> None:
        if await attempt(key):
            wins[key] += 1  # counted after the await: no other task's count is lost

    _report(signal_dir, f"ready-{me}", "")
    _wait_for_go(signal_dir)
    async with anyio.create_task_group() as tg:
        for key in keys:
            for _ in range(rivals):
                tg.start_soon(one, key)
    _report(signal_dir, f"done-{me}", json.dumps(wins))
