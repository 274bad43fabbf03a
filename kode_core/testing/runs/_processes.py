"""What the run kit runs in other OS processes: rival claimers of one approval."""

from __future__ import annotations

import time
from pathlib import Path

import anyio

from ...runs import RUNS
from .._factory import StoreFactory


def _wait_for(path: Path, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path.name} within {within} s")
        time.sleep(0.002)


def claim_rounds(
    factory: StoreFactory, namespace: str, rounds: int, callers: int, signal_dir: str, name: str
) -> None:
    """For each round ``r``: wait for ``go-r``, race ``callers`` concurrent claims of the
    approval ``race-r``, write how many got True to ``won-r-<name>``."""

    async def main() -> None:
        async with factory.open_family(RUNS) as runs:
            store = runs.build(factory.descriptor(namespace))
            await store.get_run("warm-up")  # connect and migrate before the race
            Path(signal_dir, f"ready-{name}").touch()
            for r in range(rounds):
                _wait_for(Path(signal_dir, f"go-{r}"))
                wins = 0

                async def claim(i: int, r: int = r) -> None:
                    nonlocal wins
                    decision = "approved" if i % 2 else "denied"
                    if await store.resolve_approval(f"race-{r}", decision):
                        wins += 1

                async with anyio.create_task_group() as group:
                    for i in range(callers):
                        group.start_soon(claim, i)
                tmp = Path(signal_dir, f"won-{r}-{name}.tmp")
                tmp.write_text(str(wins))
                tmp.rename(Path(signal_dir, f"won-{r}-{name}"))

    anyio.run(main)
