"""A three-step durable workflow on kode: killed between steps, resumed by another process.

kode keeps the state a replayed workflow engine needs; the engine here is twenty
lines. Each pass over a run holds the run's lock, reads every step once, skips the
steps that succeeded (replay), and claims and runs the next one. Run it:
``uv run --all-packages python examples/workflow_resume.py`` (SQLite, in a temporary
directory). The first process is killed with SIGKILL right after ``reserve``
succeeds; a second process takes the lock once the dead holder's lease lapses and
finishes the run without running ``reserve`` again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio

import kode_core
from kode_core.workflows import StepStatus, WorkflowStore

STEPS = ("reserve", "charge", "ship")
RUN_ID = "order-42"


def side_effect(data_dir: Path, step: str) -> dict[str, str]:
    """The step's real work: here, a line in ``effects.log`` per execution."""
    with (data_dir / "effects.log").open("a") as log:
        log.write(f"{step}\n")
    return {"done": step}


async def advance(store: WorkflowStore, data_dir: Path, crash_after: str | None) -> None:
    """One orchestrator pass: replay what is stored, run what is not."""
    async with store.run_lock(RUN_ID, timeout=30, lease=1.0):
        stored = {step.step_name: step for step in await store.list_steps(RUN_ID)}
        for name in STEPS:
            step = stored.get(name)
            if step is not None and step.status is StepStatus.SUCCEEDED:
                continue  # replayed: its result is in the store, the work is not redone
            if step is None:
                step = await store.insert_step(RUN_ID, name, data={"order": 42})
            claim = await store.claim_step(RUN_ID, name)
            if not claim.won:
                raise RuntimeError(f"{name} is being run elsewhere")
            await store.set_step_result(claim.step.step_id, side_effect(data_dir, name))
            if name == crash_after:
                os.kill(os.getpid(), signal.SIGKILL)  # the process dies between two steps
        await store.update_run_status(RUN_ID, "completed", output={"shipped": True})


async def worker(data_dir: Path, crash_after: str | None) -> None:
    defaults = {"sqlite": {"path": str(data_dir / "kode.db")}}
    async with kode_core.workflow_stores(defaults) as workflows:
        store = workflows.build({"kind": "sqlite", "options": {"namespace": "shop"}})
        with contextlib.suppress(kode_core.ConflictError):  # made by an earlier process
            await store.create_run("checkout", {"order": 42}, run_id=RUN_ID)
        await advance(store, data_dir, crash_after)
        run = await store.get_run(RUN_ID)
        attempts = [(a.step_name, a.attempt) for a in await store.get_run_history(RUN_ID)]
        print(f"run {run.status.value}: {attempts}")


def main() -> None:
    if len(sys.argv) == 3:  # a worker: DATA_DIR CRASH_AFTER|-
        crash_after = None if sys.argv[2] == "-" else sys.argv[2]
        anyio.run(worker, Path(sys.argv[1]), crash_after)
        return
    with tempfile.TemporaryDirectory() as tmp:
        first = subprocess.run([sys.executable, __file__, tmp, "reserve"], check=False)
        print("first process exit code:", first.returncode)  # -9: killed by SIGKILL
        second = subprocess.run(
            [sys.executable, __file__, tmp, "-"], check=True, capture_output=True, text=True
        )
        print("second process:", second.stdout.strip())
        print("work done:", Path(tmp, "effects.log").read_text().split())


if __name__ == "__main__":
    main()
