"""What the thread kit runs in other OS processes: rival appenders to one thread."""

from __future__ import annotations

import time
from pathlib import Path

import anyio

from ...threads import THREADS
from .._factory import StoreFactory


def append_messages(
    factory: StoreFactory,
    namespace: str,
    thread_id: str,
    writer: str,
    tasks: int,
    count: int,
    signal_dir: str,
) -> None:
    """Once ``go`` exists: ``tasks`` tasks each append ``count`` messages one at a time,
    ids ``<writer>.<task>-<n>``; then touch ``done-<writer>``."""

    async def main() -> None:
        async with factory.open_family(THREADS) as threads:
            store = threads.build(factory.descriptor(namespace))
            await store.get_messages(thread_id)  # connect and migrate before the race
            Path(signal_dir, f"ready-{writer}").touch()
            deadline = time.monotonic() + 60
            while not Path(signal_dir, "go").exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("no go signal within 60 s")
                await anyio.sleep(0.002)

            async def append(task: int) -> None:
                for n in range(count):
                    message = {"id": f"{writer}.{task}-{n}", "role": "user", "content": "x"}
                    await store.save_messages(thread_id, [message])

            async with anyio.create_task_group() as group:
                for task in range(tasks):
                    group.start_soon(append, task)
        Path(signal_dir, f"done-{writer}").touch()

    anyio.run(main)
