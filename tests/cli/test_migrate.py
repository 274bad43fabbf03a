"""``kode migrate`` prepares every family of every engine for ``auto_migrate=False`` apps."""

from __future__ import annotations

from pathlib import Path

import pytest

from kode_core import AGENTS, SESSIONS, SchemaVersionError, parse_store
from kode_core.agents import AgentInfo
from kode_core.testing import TestServer, unique_namespace

from .conftest import kode, registry, supported_versions

pytestmark = pytest.mark.anyio
KEY = {"project_key": "p", "session_id": "s"}


@pytest.fixture(params=["sqlite", "pg", "mongo", "redis"])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'kode.db'}"
    if kind == "pg":
        server: TestServer = request.getfixturevalue("pg_server")
        return server.url
    url: str = request.getfixturevalue(f"{kind}_url")
    return url


async def test_migrate_prepares_sessions_and_agents_for_apps_that_may_not(
    engine_url: str,
) -> None:
    store = f"{engine_url}#{unique_namespace()}"
    config = parse_store(store, registry=registry())
    async with config.open(AGENTS, registry=registry(), auto_migrate=False) as agents:
        with pytest.raises(SchemaVersionError):
            await agents.save_info("a", AgentInfo(agent_id="a", template_id="t", created_at=0))
    versions = await supported_versions(store, SESSIONS, AGENTS)  # they differ per engine

    done = kode("migrate", store)
    assert done.returncode == 0, done.stderr
    assert f"sessions schema version 0 -> {versions['sessions']}" in done.stdout
    assert f"agents schema version 0 -> {versions['agents']}" in done.stdout

    async with config.open(SESSIONS, registry=registry(), auto_migrate=False) as sessions:
        await sessions.append(KEY, [{"type": "user", "uuid": "u"}])
        assert await sessions.count_entries(KEY) == 1
    async with config.open(AGENTS, registry=registry(), auto_migrate=False) as agents:
        await agents.save_info("a", AgentInfo(agent_id="a", template_id="t", created_at=0))
        assert await agents.exists("a")
        assert await agents.schema_version() == agents.supported_schema_version
