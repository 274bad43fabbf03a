"""What the agent-store kit runs in other OS processes: lock holders and rival writers.

Each function is a process target (``multiprocessing`` spawn context): it opens
the backend from a picklable :class:`StoreFactory`, signals through files in
``signal_dir`` and never shares memory with the test.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import time
from pathlib import Path
from typing import Any

import anyio

from .._factory import StoreFactory
from .samples import conversation


def start(target: Any, *args: Any) -> multiprocessing.process.BaseProcess:
    """Start ``target(*args)`` in a fresh interpreter (spawn: no inherited event loop)."""
    process = multiprocessing.get_context("spawn").Process(target=target, args=args, daemon=True)
    process.start()
    return process


async def wait_for_file(path: Path, within: float = 60.0) -> str:
    """The contents of ``path`` once another process has written it."""
    with anyio.fail_after(within):
        while not path.exists():
            await anyio.sleep(0.01)
    return path.read_text()


def _wait_for_go(signal_dir: str) -> None:
    deadline = time.monotonic() + 60
    while not Path(signal_dir, "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal within 60 s")
        time.sleep(0.005)


def hold_lock(
    factory: StoreFactory,
    namespace: str,
    agent_id: str,
    lease: float,
    hold: float,
    signal_dir: str,
) -> None:
    """Take the agent's lock, write its token to ``acquired``, hold it ``hold`` s, release."""

    async def main() -> None:
        async with factory.open_agents() as agents:
            store = agents.build(factory.descriptor(namespace))
            async with store.acquire_agent_lock(agent_id, timeout=30, lease=lease) as lock:
                Path(signal_dir, "acquired.tmp").write_text(str(lock.token))
                Path(signal_dir, "acquired.tmp").rename(Path(signal_dir, "acquired"))
                await anyio.sleep(hold)
            Path(signal_dir, "released").touch()

    anyio.run(main)


def save_own_list(
    factory: StoreFactory, namespace: str, agent_id: str, writer: int, rounds: int, signal_dir: str
) -> None:
    """Save this writer's own conversation ``rounds`` times once the test says go."""

    async def main() -> None:
        async with factory.open_agents() as agents:
            store = agents.build(factory.descriptor(namespace))
            await store.load_messages(agent_id)  # connect and migrate before the race
            Path(signal_dir, f"ready-{writer}").touch()
            _wait_for_go(signal_dir)
            messages = conversation(20 + writer, f"writer{writer}")
            for _ in range(rounds):
                await store.save_messages(agent_id, messages)

    anyio.run(main)
