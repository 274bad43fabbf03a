"""``kode doctor`` and ``kode migrate`` against a real PostgreSQL, running and stopped."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anyio
import pytest

from kode_core import AGENTS, SESSIONS
from kode_core.testing import unique_namespace
from kode_core.testing.servers import TestServer, postgres_server

from .conftest import kode, supported_versions

CONNECT_TIMEOUT = 2.0
#: Slack over the connect timeout for a busy test machine.
SLACK = 3.0


@pytest.fixture
def own_pg() -> Iterator[TestServer]:
    """A server of this test alone: it is stopped."""
    with postgres_server() as server:
        yield server


def descriptor(server: TestServer, namespace: str) -> str:
    options = {"url": server.url, "namespace": namespace, "connect_timeout": CONNECT_TIMEOUT}
    return json.dumps({"kind": "pg", "options": options})


def test_doctor_is_healthy_only_once_the_namespace_is_migrated(pg_server: TestServer) -> None:
    store = f"{pg_server.url}#{unique_namespace()}"
    fresh = kode("doctor", store)
    assert fresh.returncode == 1
    [reason] = fresh.stderr.splitlines()
    # A namespace no family ever migrated: perhaps a typo, so doctor names what it found.
    assert reason.startswith("kode doctor: unhealthy: namespace "), reason
    assert "has no kode data (never migrated); if this is the store you meant" in reason
    assert "run `kode migrate`" in reason
    assert "reachable  yes" in fresh.stdout

    migrated = kode("migrate", store)
    assert migrated.returncode == 0, migrated.stderr
    # auto_migrate=False deployments migrate every family a kind provides this way.
    versions = anyio.run(supported_versions, store, SESSIONS, AGENTS)
    assert f"sessions schema version 0 -> {versions['sessions']}" in migrated.stdout
    assert f"agents schema version 0 -> {versions['agents']}" in migrated.stdout
    again = kode("migrate", store).stdout
    assert f"sessions already at schema version {versions['sessions']}" in again
    assert f"agents already at schema version {versions['agents']}" in again

    healthy = kode("doctor", store)
    assert healthy.returncode == 0, healthy.stderr
    for family, version in versions.items():
        line = f"schema     {family}: version {version}, this code applies {version}: current"
        assert line in healthy.stdout
    assert "driver     psycopg 3." in healthy.stdout
    assert "ms per round trip" in healthy.stdout
    assert healthy.stdout.rstrip().endswith("healthy")
    assert "postgres@127.0.0.1" in healthy.stdout


def test_doctor_against_a_stopped_server_exits_1_with_one_line_within_the_timeout(
    own_pg: TestServer,
) -> None:
    store = descriptor(own_pg, unique_namespace())
    assert kode("migrate", store).returncode == 0
    own_pg.stop()
    # What the command costs without an engine to wait for: interpreter, plugins, SDK.
    started = time.monotonic()
    assert kode("doctor", "memory://").returncode == 0
    baseline = time.monotonic() - started
    started = time.monotonic()
    down = kode("doctor", store)
    elapsed = time.monotonic() - started
    assert down.returncode == 1
    [reason] = down.stderr.splitlines()  # one line, no traceback
    assert reason.startswith("kode doctor: pg: engine unavailable at 127.0.0.1:"), reason
    assert "Traceback" not in down.stdout + down.stderr
    assert elapsed < baseline + CONNECT_TIMEOUT + SLACK, (elapsed, baseline)
    own_pg.start()
    assert kode("doctor", store).returncode == 0
