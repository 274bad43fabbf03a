"""The ``kode`` command on a real SQLite file, run as an operator runs it."""

import subprocess
import sys
from pathlib import Path

import anyio

from kode_core.testing import StoreFactory, user_environment

PLUGINS = ("kode_sqlite._plugin",)


def kode(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    # Plugins are found through their entry points, as for an operator.
    env = user_environment(KODE_STORE_TYPE="sqlite", KODE_SQLITE_PATH=str(database))
    return subprocess.run(
        [sys.executable, "-m", "kode_core", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_doctor_writes_nothing_and_migrate_prepares_every_family_for_the_application(
    tmp_path: Path,
) -> None:
    database = tmp_path / "agents.db"
    checked = kode("doctor", "--namespace", "tenant_a", database=database)
    assert checked.returncode == 1
    assert "unhealthy: " in checked.stderr
    assert f"no kode store at {database}" in checked.stderr  # not advice to migrate a typo
    assert not database.exists()

    migrated = kode("migrate", "--namespace", "tenant_a", database=database)
    assert migrated.returncode == 0, migrated.stderr
    healthy = kode("doctor", "--namespace", "tenant_a", database=database)
    assert healthy.returncode == 0, healthy.stderr
    assert "driver     sqlite3 (SQLite 3." in healthy.stdout

    async def the_application_runs_without_migrations() -> None:
        factory = StoreFactory("sqlite", {"path": str(database), "auto_migrate": False}, PLUGINS)
        async with factory.open() as stores:
            store = stores.build(factory.descriptor("tenant_a"))
            await store.append({"project_key": "p", "session_id": "s"}, [{"type": "t"}])
            assert await store.count_entries({"project_key": "p", "session_id": "s"}) == 1
        async with factory.open_agents() as agents:
            agent_store = agents.build(factory.descriptor("tenant_a"))
            await agent_store.save_messages(
                "agent", [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
            )
            assert await agent_store.exists("agent")

    anyio.run(the_application_runs_without_migrations)


def test_backends_lists_the_installed_sqlite_kind(tmp_path: Path) -> None:
    listed = kode("backends", database=tmp_path / "unused.db")
    assert listed.returncode == 0
    assert any(line.startswith("sqlite   kode-sqlite ") for line in listed.stdout.splitlines())
