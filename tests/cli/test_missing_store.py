"""Read commands on a store that is not there say so, and create nothing.

A typo in a path or a namespace used to get ``schema version 0 ... migrate it``, and
following that advice made an empty store in the wrong place.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from .conftest import kode, open_store

READ_COMMANDS = [
    ["sessions", "list", "p", "--store"],
    ["sessions", "show", "p", "s", "--store"],
    ["sessions", "count", "p", "--store"],
    ["export", "--store"],
    ["copy", "--to", "memory://", "--from"],
    ["doctor", "--store"],
]
IDS = ["sessions-list", "sessions-show", "sessions-count", "export", "copy-from", "doctor"]


async def write_one(url: str) -> None:
    async with open_store(url) as store:
        await store.append({"project_key": "p", "session_id": "s"}, [{"type": "user"}])


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        *((command, "file") for command in READ_COMMANDS),
        (READ_COMMANDS[0], "directory"),
        (READ_COMMANDS[-1], "directory"),
    ],
    ids=[*(f"{name}-file" for name in IDS), "sessions-list-directory", "doctor-directory"],
)
def test_a_missing_sqlite_file_is_no_kode_store_and_is_not_created(
    tmp_path: Path, command: list[str], missing: str
) -> None:
    path = tmp_path / "kode.db" if missing == "file" else tmp_path / "typo" / "kode.db"
    done = kode(*command, f"sqlite:///{path}")
    assert done.returncode == 1
    [error] = done.stderr.splitlines()
    assert f"no kode store at {path} (no such " in error, error
    assert "migrate it" not in error
    assert "reachable  yes" not in done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", READ_COMMANDS, ids=IDS)
def test_a_namespace_never_migrated_has_no_kode_data(tmp_path: Path, command: list[str]) -> None:
    url = f"sqlite:///{tmp_path}/kode.db"
    anyio.run(write_one, f"{url}#tenant_a")
    done = kode(*command, f"{url}#tenant_b")
    assert done.returncode == 1
    [error] = done.stderr.splitlines()
    assert "namespace 'tenant_b' has no kode data (never migrated)" in error, error
    assert "migrate it" not in error


def test_a_namespace_never_migrated_on_a_server_engine_has_no_kode_data(mongo_url: str) -> None:
    done = kode("sessions", "list", "p", "--store", f"{mongo_url}#never_used_here")
    assert done.returncode == 1
    [error] = done.stderr.splitlines()
    assert error.startswith(
        "kode sessions list: namespace 'never_used_here' has no kode data (never migrated)"
    ), error


def test_only_migrate_and_writes_create_a_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kode.db"
    assert kode("export", "--store", url).returncode == 1
    assert not (tmp_path / "kode.db").exists()
    line = {"key": {"project_key": "p", "session_id": "s"}, "entry": {"type": "user"}}
    assert kode("import", "--store", url, stdin=json.dumps(line) + "\n").returncode == 0
    assert kode("sessions", "count", "p", "--store", url).stdout == "1\n"
