"""``kode threads list|show`` and ``kode runs list|show`` on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kode_core import BackendPool, run_stores, session_stores, thread_stores
from kode_core.testing import unique_namespace
from kode_core.testing.servers import TestServer

from .conftest import kode, registry

pytestmark = pytest.mark.anyio


async def _fill(path: Path) -> None:
    async with BackendPool({"sqlite": {"path": str(path)}}, registry=registry()) as pool:
        threads = thread_stores(pool).build({"kind": "sqlite"})
        runs = run_stores(pool).build({"kind": "sqlite"})
        for resource, thread_id in (("acme", "t-1"), ("acme:bob", "t-2"), ("acmeco", "t-3")):
            await threads.create_thread(resource, thread_id=thread_id, title=f"title {thread_id}")
        await threads.save_messages(
            "t-1",
            [
                {"id": "m1", "role": "user", "content": "book a trip"},
                {"id": "m2", "role": "assistant", "reasoning_content": "needs dates"},
            ],
        )
        approval = {"type": "tool-call", "tool_call_id": "c1", "tool_name": "pay", "args": {}}
        await runs.create_run(
            {
                "run_id": "r-1",
                "agent_name": "travel",
                "thread_id": "t-1",
                "resource_id": "acme",
                "status": "suspended",
                "pending_approvals": [approval],
            }
        )
        await runs.save_score({"run_id": "r-1", "scorer_name": "judge", "score": 0.75})


async def test_threads_list_filters_by_owner_and_agent(tmp_path: Path) -> None:
    await _fill(tmp_path / "k.db")
    store = f"sqlite:///{tmp_path / 'k.db'}"
    done = kode("threads", "list", "--owner", "acme", "--json", "--store", store)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(line)["id"] for line in done.stdout.splitlines()) == ["t-1", "t-2"]
    done = kode("threads", "list", "--agent", "travel", "--json", "--store", store)
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["t-1"]
    done = kode("threads", "list", "--store", store)
    assert done.returncode == 0
    assert "t-3" in done.stdout


async def test_threads_show_and_runs_list_show(tmp_path: Path) -> None:
    await _fill(tmp_path / "k.db")
    store = f"sqlite:///{tmp_path / 'k.db'}"
    done = kode("threads", "show", "t-1", "--store", store)
    assert done.returncode == 0, done.stderr
    assert "book a trip" in done.stdout
    assert "[reasoning] needs dates" in done.stdout
    done = kode("threads", "show", "t-1", "--tail", "1", "--json", "--store", store)
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["m2"]
    done = kode("runs", "list", "t-1", "--store", store)
    assert "r-1" in done.stdout
    assert "suspended" in done.stdout
    shown = json.loads(kode("runs", "show", "r-1", "--json", "--store", store).stdout)
    assert shown["run"]["pending_approvals"][0]["tool_call_id"] == "c1"
    assert [s["score"] for s in shown["scores"]] == [0.75]


async def test_missing_threads_and_runs_are_errors(tmp_path: Path) -> None:
    await _fill(tmp_path / "k.db")
    store = f"sqlite:///{tmp_path / 'k.db'}"
    done = kode("threads", "show", "nope", "--store", store)
    assert done.returncode == 1
    assert "no thread 'nope'" in done.stderr
    done = kode("runs", "show", "nope", "--store", store)
    assert done.returncode == 1
    done = kode("threads", "list", "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 1
    assert "no kode store" in done.stderr


async def test_copy_moves_threads_and_runs_from_sqlite_to_postgresql_once(
    tmp_path: Path, pg_server: TestServer
) -> None:
    await _fill(tmp_path / "k.db")
    source = f"sqlite:///{tmp_path / 'k.db'}"
    target = f"{pg_server.url}#{unique_namespace('cp')}"
    exported = kode("export", "--store", source)
    assert exported.returncode == 0, exported.stderr
    for _ in range(2):  # a second copy adds nothing
        done = kode("copy", "--from", source, "--to", target)
        assert done.returncode == 0, done.stderr
    assert "1 runs, 1 scores" in kode("copy", "--from", source, "--to", target + "x").stdout
    assert kode("export", "--store", target).stdout == exported.stdout
    # Each thread comes with its messages, runs and scores right after it. Threads are
    # newest update first, and two updated in the same millisecond come in either order.
    kinds: dict[str, list[str]] = {}
    for line in map(json.loads, exported.stdout.splitlines()):
        kind = next(iter(line))
        if kind == "thread":
            group = kinds.setdefault(line["thread"]["id"], [])
        group.append(kind)
    assert kinds == {
        "t-1": ["thread", "thread_message", "thread_message", "run", "run_score"],
        "t-2": ["thread"],
        "t-3": ["thread"],
    }


async def test_export_and_copy_of_one_project_leave_threads_and_runs_out(
    tmp_path: Path,
) -> None:
    await _fill(tmp_path / "k.db")
    source = f"sqlite:///{tmp_path / 'k.db'}"
    async with BackendPool(
        {"sqlite": {"path": str(tmp_path / "k.db")}}, registry=registry()
    ) as pool:
        sessions = session_stores(pool).build({"kind": "sqlite"})
        await sessions.append({"project_key": "p", "session_id": "s"}, [{"type": "user"}])
    exported = kode("export", "--store", source, "--project", "p")
    assert exported.returncode == 0, exported.stderr
    assert [next(iter(json.loads(line))) for line in exported.stdout.splitlines()] == ["key"]
    assert "belong to no project" in exported.stderr
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    copied = kode("copy", "--from", source, "--to", target, "-p", "p")
    assert copied.returncode == 0, copied.stderr
    assert kode("export", "--store", target).stdout == exported.stdout  # the same rule


async def test_import_of_an_export_is_idempotent_and_checked_first(tmp_path: Path) -> None:
    await _fill(tmp_path / "k.db")
    exported = kode("export", "--store", f"sqlite:///{tmp_path / 'k.db'}").stdout
    target = f"sqlite:///{tmp_path / 'b.db'}"
    bad = exported + '{"run": {"run_id": "r-9", "status": "paused"}}\n'
    done = kode("import", "--store", target, stdin=bad)
    assert done.returncode == 1
    assert "line 8" in done.stderr
    for _ in range(2):
        assert kode("import", "--store", target, stdin=exported).returncode == 0
    assert kode("export", "--store", target).stdout == exported
