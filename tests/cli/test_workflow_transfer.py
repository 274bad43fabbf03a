"""Workflow state through ``kode export``, ``kode import`` and ``kode copy``, on real stores."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest

from kode_core import WORKFLOWS, WorkflowStore, parse_store
from kode_core.testing import unique_namespace
from kode_core.testing.servers import TestServer
from kode_core.workflows import StepAttempt, StepState, WorkflowRun

from ._terminal import TerminalRun
from .conftest import kode, registry

T0 = datetime(2022, 5, 6, 7, 8, 9, 123_000, tzinfo=timezone.utc)
Records = tuple[WorkflowRun, list[StepState], list[StepAttempt], dict[str, Any]]
TRANSCRIPT = (
    '{"key": {"project_key": "p", "session_id": "s"}, "entry": {"type": "user", "uuid": "u1"}}'
)


def _open(url: str) -> Any:
    return parse_store(url, registry=registry()).open(WORKFLOWS, registry=registry())


def _old_run() -> Records:
    """A run as another store kept it: old times, every field set, a retried step."""

    def at(seconds: int) -> str:
        return (T0 + timedelta(seconds=seconds)).isoformat()

    run = WorkflowRun.from_dict({
        "id": "imported", "workflow": "ship", "status": "cancelled", "input": [1],
        "output": {"o": 1}, "error": {"e": 2}, "inline": False, "graph_hash": "g",
        "deterministic": True, "planned_steps": {"a": 1},
        "wire": {"type": "queue", "id": "q", "parent_run_id": "pr", "parent_step_id": "ps",
                 "user_id": "u"},
        "created_at": at(0), "updated_at": at(50),
    })  # fmt: skip
    step = StepState.from_dict({
        "step_id": "imported-a", "run_id": "imported", "step_name": "a", "rpc_name": "r",
        "data": {"d": 1}, "status": "succeeded", "result": "done", "attempt_count": 2,
        "retries": 4, "retry_delay": 0.5, "from_step_name": "z", "child_run_id": "c",
        "branch_taken": "b", "created_at": at(1), "updated_at": at(9), "running_at": at(7),
        "scheduled_at": at(6), "succeeded_at": at(9),
    })  # fmt: skip
    attempts = [
        StepAttempt.from_dict({
            "step_id": "imported-a", "run_id": "imported", "step_name": "a", "attempt": 1,
            "status": "failed", "error": {"x": 1}, "created_at": at(1), "updated_at": at(3),
            "running_at": at(2), "failed_at": at(3),
        }),
        StepAttempt.from_dict({
            "step_id": "imported-a", "run_id": "imported", "step_name": "a", "attempt": 2,
            "status": "succeeded", "result": "done", "created_at": at(5), "updated_at": at(9),
            "running_at": at(7), "scheduled_at": at(6), "succeeded_at": at(9),
        }),
    ]  # fmt: skip
    return run, [step], attempts, {"k": {"deep": [1, None]}}


async def fill(url: str) -> None:
    async with _open(url) as store:
        assert isinstance(store, WorkflowStore)
        await store.import_run(*_old_run())
        run_id = await store.create_run(
            "order", {"n": 1}, run_id="made", wire={"type": "http"}, graph_hash="h"
        )
        step = await store.insert_step(run_id, "pay", data=[1], retries=1, retry_delay=2.0)
        await store.set_step_error(step.step_id, {"m": "declined"})
        await store.claim_step(run_id, "pay")
        await store.insert_step(run_id, "ship", from_step_name="pay")
        await store.update_run_state(run_id, "cart", ["a"])


async def records(url: str) -> dict[str, Records]:
    async with _open(url) as store:
        out = {}
        for run in await store.list_runs():
            out[run.id] = (
                run,
                await store.list_steps(run.id),
                await store.get_run_history(run.id),
                await store.get_run_state(run.id),
            )
        return out


def kinds(exported: str) -> list[str]:
    return [next(iter(json.loads(line))) for line in exported.splitlines()]


def export(url: str) -> str:
    done = kode("export", "--store", url)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_export_writes_each_run_with_its_state_steps_and_attempts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    anyio.run(fill, url)
    exported = export(url)
    assert kinds(exported) == [
        *("workflow_run", "workflow_state", "workflow_step", "workflow_step"),
        *("workflow_attempt",) * 3,
        *(
            "workflow_run",
            "workflow_state",
            "workflow_step",
            "workflow_attempt",
            "workflow_attempt",
        ),
    ]
    assert json.loads(exported.splitlines()[0])["workflow_run"]["id"] == "made"  # newest first
    assert export(url) == exported  # a stable order
    one_project = kode("export", "--store", url, "--project", "p")
    assert one_project.returncode == 0, one_project.stderr
    assert "workflow_" not in one_project.stdout  # runs belong to no project


def test_import_into_a_fresh_store_of_another_kind_keeps_every_field(
    tmp_path: Path, pg_server: TestServer
) -> None:
    source = f"sqlite:///{tmp_path / 'a.db'}"
    target = f"{pg_server.url}#{unique_namespace('wi')}"
    anyio.run(fill, source)
    exported = export(source)
    done = kode("import", "--store", target, stdin=exported)
    assert done.returncode == 0, done.stderr
    assert "imported workflow state: 2 runs stored (3 steps, 5 attempts)" in done.stdout
    assert anyio.run(records, target) == anyio.run(records, source)
    assert anyio.run(records, target)["imported"] == _old_run()
    again = kode("import", "--store", target, stdin=exported)
    assert again.returncode == 0, again.stderr
    assert "0 runs stored (0 steps, 0 attempts), 2 skipped as already present" in again.stdout
    assert export(target) == exported


BAD_LINES = {
    "a step status no store knows": (
        lambda line: line.replace('"status":"succeeded"', '"status":"done"'),
        "workflow_step",
        "workflow_step.status",
    ),
    "a step of another run": (
        lambda line: line.replace('"run_id":"imported"', '"run_id":"elsewhere"'),
        "workflow_step",
        "not right after that run",
    ),
    "an attempt past the step's count": (
        lambda line: line.replace('"attempt":2', '"attempt":3'),
        "workflow_attempt",
        "attempts[1].attempt",
    ),
    "a run without its wire type": (
        lambda line: line.replace('"type":"queue",', ""),
        "workflow_run",
        "run.wire.type",
    ),
    "an unknown line kind": (
        lambda line: '{"workflow_bogus": {}}',
        "workflow_run",
        "workflow_bogus",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_malformed_workflow_line_is_named_and_nothing_is_stored(
    tmp_path: Path, case: str
) -> None:
    source, target = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    anyio.run(fill, source)
    lines = [TRANSCRIPT, *export(source).splitlines()]
    spoil, kind, expected = BAD_LINES[case]
    number = max(i for i, line in enumerate(lines) if kinds(line) == [kind] and "imported" in line)
    lines[number] = spoil(lines[number])
    done = kode("import", "--store", target, stdin="\n".join(lines) + "\n")
    assert done.returncode == 1
    assert f"line {number + 1}:" in done.stderr, done.stderr
    assert expected in done.stderr, done.stderr
    assert "nothing was stored" in done.stderr
    assert not (tmp_path / "b.db").exists() or export(target) == ""


def test_copy_carries_workflow_state_and_runs_again_as_a_no_op(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    anyio.run(fill, source)
    done = kode("copy", "--from", source, "--to", target)
    assert done.returncode == 0, done.stderr
    assert "copied workflow state: 2 runs stored (3 steps, 5 attempts), 0 skipped" in done.stdout
    assert export(target) == export(source)
    again = kode("copy", "--from", source, "--to", target)
    assert "copied workflow state: 0 runs stored (0 steps, 0 attempts), 2 skipped" in again.stdout
    assert anyio.run(records, target) == anyio.run(records, source)


@pytest.mark.slow
def test_copy_through_every_engine_keeps_every_workflow_record(
    tmp_path: Path, pg_server: TestServer, mongo_url: str, redis_url: str
) -> None:
    namespace = unique_namespace("wc")
    chain = [
        f"sqlite:///{tmp_path}/source.db",
        f"{pg_server.url}#{namespace}",
        f"{mongo_url}#{namespace}",
        f"{redis_url}#{namespace}",
        f"sqlite:///{tmp_path}/final.db",
    ]
    anyio.run(fill, chain[0])
    for source, target in itertools.pairwise(chain):
        done = kode("copy", "--from", source, "--to", target)
        assert done.returncode == 0, done.stderr
        assert "copied workflow state: 2 runs stored" in done.stdout
    assert anyio.run(records, chain[-1]) == anyio.run(records, chain[0])
    assert export(chain[-1]) == export(chain[0])


def test_copy_and_import_show_workflow_progress_on_a_terminal(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    anyio.run(fill, source)
    with TerminalRun("copy", "--from", source, "--to", target, stream="stderr") as run:
        status, summary, terminal = run.finish()
    assert status == 0
    assert "copied workflow state: 2 runs stored" in summary
    assert "workflow runs" in terminal
    assert "2/2" in terminal  # the bar, over the source's runs
    lines = export(source)
    other = f"sqlite:///{tmp_path / 'c.db'}"
    with TerminalRun("import", "--store", other, stream="stderr", stdin=lines.encode()) as run:
        status, summary, terminal = run.finish()
    assert status == 0
    assert "imported workflow state: 2 runs stored" in summary
    assert "workflow runs" in terminal
    assert "2/2" in terminal  # the bar, over the input's runs
