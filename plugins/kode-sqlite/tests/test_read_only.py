"""A SQLite file its reader may not write (file and folder read-only): the read-only
commands work on it, and a write fails with one line, changing nothing."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from kode_core.agents import AgentInfo
from kode_core.testing import StoreFactory, user_environment

PLUGINS = ("kode_sqlite._plugin",)
NOBODY = 65534
# <linux/capability.h>, <linux/prctl.h>
CAP_DAC_READ_SEARCH = 2
PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE = 47, 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _reader_who_cannot_write() -> None:
    """``preexec_fn`` for root: become ``nobody`` keeping one right, to read any file.

    File modes do not bind root, so as root the child drops to ``nobody``; it keeps
    CAP_DAC_READ_SEARCH (ambient, so it survives ``exec``) so that the interpreter and
    the packages load from wherever the test run put them, but it may write nothing
    that ``nobody`` may not. An ordinary user needs none of this.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    bit = 1 << CAP_DAC_READ_SEARCH
    data = (ctypes.c_uint32 * 6)(bit, bit, bit, 0, 0, 0)  # effective, permitted, inheritable
    if libc.capset(header, data) != 0:
        os._exit(97)
    if libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_READ_SEARCH, 0, 0) != 0:
        os._exit(98)


def kode(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``kode ARGS`` as a user who may read the database but not write it."""
    as_root = os.geteuid() == 0
    return subprocess.run(
        [sys.executable, "-m", "kode_core", *args],
        env=user_environment(HOME="/nonexistent"),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_reader_who_cannot_write if as_root else None,
        cwd="/",
    )


@pytest.fixture
def read_only_store() -> Iterator[Path]:
    """A database with one transcript and one agent, in a folder nobody may write."""
    folder = Path(tempfile.mkdtemp(prefix="kode-ro-"))
    database = folder / "kode.db"
    factory = StoreFactory("sqlite", {"path": str(database)}, PLUGINS)

    async def fill() -> None:
        async with factory.open() as sessions, factory.open_agents() as agents:
            key = {"project_key": "p", "session_id": "s-1"}
            entry = {"type": "user", "uuid": "u-1", "message": "hi"}
            await sessions.build({"kind": "sqlite"}).append(key, [entry])
            info = AgentInfo(agent_id="agt-1", template_id="assistant", created_at=0)
            await agents.build({"kind": "sqlite"}).save_info("agt-1", info)

    anyio.run(fill)
    # Every family's tables, as an operator's `kode migrate` leaves them (doctor checks all).
    migrated = subprocess.run(
        [sys.executable, "-m", "kode_core", "migrate", "--store", f"sqlite:///{database}"],
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    database.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield database
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_read_only_commands_read_a_file_they_may_not_write(read_only_store: Path) -> None:
    store = f"sqlite:///{read_only_store}"  # an absolute path: four slashes
    before = _digest(read_only_store.parent)

    listed = kode("sessions", "list", "p", "--store", store, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["session_id"] for row in json.loads(listed.stdout)["sessions"]] == ["s-1"]

    exported = kode("export", "--store", store)
    assert exported.returncode == 0, exported.stderr
    assert [json.loads(line)["entry"]["uuid"] for line in exported.stdout.splitlines()] == ["u-1"]

    doctor = kode("doctor", "--store", store)
    assert doctor.returncode == 0, doctor.stderr

    copied = kode("copy", "--from", store, "--to", "memory://")
    assert copied.returncode == 0, copied.stderr

    # The child really may not write: an import is refused, in one line, and nothing moved.
    line = json.dumps({"key": {"project_key": "p", "session_id": "s-2"}, "entry": {"type": "user"}})
    refused = kode("import", "--store", store, stdin=line + "\n")
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "readonly" in refused.stderr or "read-only" in refused.stderr, refused.stderr
    assert _digest(read_only_store.parent) == before
