"""``kode deployments list|prune`` on a real SQLite file, the command run in this process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import pytest

import kode_core
from kode_core._cli import main


async def _register(path: Path) -> None:
    """An instance that stopped heartbeating 1.2 s ago, then a fresh one."""
    async with kode_core.deployment_stores({"sqlite": {"path": str(path)}}) as stores:
        store = stores.build({"kind": "sqlite"})
        await store.start("old", "http://old:8000", ["greet"])
        await anyio.sleep(1.2)
        await store.start("new", "http://new:8000", ["greet", "add"])


def test_list_marks_the_expired_instance_and_prune_deletes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kode.db"
    anyio.run(_register, path)
    store = f"sqlite:///{path}"
    assert main(["deployments", "list", "--ttl", "1", "--json", "--store", store]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["deployment_id"], r["live"]) for r in rows] == [("new", True), ("old", False)]
    assert rows[0]["functions"] == ["add", "greet"]
    assert abs(rows[0]["heartbeat_ms"] - time.time() * 1000) < 60_000
    assert main(["deployments", "list", "--ttl", "1", "--live", "--store", store]) == 0
    table = capsys.readouterr().out
    assert "new" in table
    assert "old" not in table
    assert main(["deployments", "prune", "--ttl", "1", "--store", store]) == 0
    assert capsys.readouterr().out == "pruned 1 expired deployment\n"
    assert main(["deployments", "list", "--ttl", "1", "--json", "--store", store]) == 0
    assert [json.loads(line)["deployment_id"] for line in capsys.readouterr().out.splitlines()] == [
        "new"
    ]


async def _migrate_sessions(path: Path) -> None:
    async with kode_core.session_stores({"sqlite": {"path": str(path)}}) as stores:
        await stores.build({"kind": "sqlite"}).migrate()


def test_a_namespace_without_deployments_lists_nothing_and_prunes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kode.db"
    anyio.run(_migrate_sessions, path)
    store = f"sqlite:///{path}#empty"
    assert main(["deployments", "list", "--store", store]) == 0
    assert "no deployments" in capsys.readouterr().err
    assert main(["deployments", "prune", "--store", store]) == 0
    assert capsys.readouterr().out == "pruned 0 expired deployments\n"


def test_a_missing_file_and_a_bad_ttl_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deployments", "list", "--store", f"sqlite:///{tmp_path}/none.db"]) == 1
    assert "no kode store at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["deployments", "prune", "--ttl", "0"])
    assert "positive number of seconds" in capsys.readouterr().err
