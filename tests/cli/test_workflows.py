"""``kode workflows list|show|stalled`` on a real SQLite store, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from kode_core import WORKFLOWS, parse_store

from .conftest import kode, registry


async def write_runs(url: str) -> None:
    async with parse_store(url, registry=registry()).open(WORKFLOWS, registry=registry()) as store:
        await store.create_run("checkout", {"order": 1}, run_id="old")
        await anyio.sleep(0.01)
        await store.create_run("refund", run_id="done")
        await store.update_run_status("done", "completed", output={"ok": True})
        step = await store.insert_step("old", "reserve", data={"sku": "a1"})
        await store.set_step_error(step.step_id, {"message": "out of stock"})
        await store.create_retry_attempt(step.step_id)
        await store.update_run_state("old", "cart", ["a1"])


def test_list_shows_runs_newest_first_and_filters_by_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kode.db#shop"
    anyio.run(write_runs, url)
    listed = kode("workflows", "list", "--json", "--store", url)
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == ["done", "old"]
    running = kode("workflows", "list", "--status", "running", "--store", url)
    assert running.returncode == 0, running.stderr
    assert "old" in running.stdout
    assert "done" not in running.stdout


def test_show_prints_the_steps_attempts_and_state_of_a_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kode.db#shop"
    anyio.run(write_runs, url)
    shown = kode("workflows", "show", "old", "--json", "--store", url)
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout)
    assert run["run"]["status"] == "running"
    assert run["state"] == {"cart": ["a1"]}
    assert [(s["step_name"], s["attempt_count"]) for s in run["steps"]] == [("reserve", 2)]
    assert [a["attempt"] for a in run["history"]] == [1, 2]
    table = kode("workflows", "show", "old", "--store", url)
    assert "reserve" in table.stdout
    assert "2 attempts in all; state keys: cart" in table.stdout
    missing = kode("workflows", "show", "nope", "--store", url)
    assert missing.returncode == 1
    assert "no workflow run 'nope'" in missing.stderr


def test_stalled_lists_running_runs_idle_past_the_threshold(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kode.db#shop"
    anyio.run(write_runs, url)
    stalled = kode("workflows", "stalled", "--older-than", "0", "--json", "--store", url)
    assert stalled.returncode == 0, stalled.stderr
    assert [json.loads(line)["id"] for line in stalled.stdout.splitlines()] == ["old"]
    recent = kode("workflows", "stalled", "--older-than", "3600", "--store", url)
    assert recent.returncode == 0
    assert "no running run idle for 3600s" in recent.stderr


def test_a_missing_store_is_reported_and_not_created(tmp_path: Path) -> None:
    done = kode("workflows", "list", "--store", f"sqlite:///{tmp_path}/kode.db")
    assert done.returncode == 1
    assert "no kode store at" in done.stderr
    assert list(tmp_path.iterdir()) == []
