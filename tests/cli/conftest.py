"""Cross-backend tests of the ``kode`` command: real servers, the command run as a user runs it.

These need every plugin installed (``nox -s tests_cli``); ``tests_core`` leaves them out.
"""

from __future__ import annotations

import functools
import importlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from kode_core import (
    SESSIONS,
    Family,
    Registry,
    SessionStore,
    default_registry,
    load_registry,
    parse_store,
)
from kode_core.testing import user_environment
from kode_core.testing.servers import TestServer, mongo_server, postgres_server, redis_server


@pytest.fixture(autouse=True)
def installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process calls use the installed plugins, as the ``kode`` command does (kode's
    four only: a stray plugin in the environment is not loaded)."""
    monkeypatch.delenv("KODE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("KODE_PLUGINS", "sqlite,pg,mongo,redis")
    default_registry.cache_clear()
    yield
    default_registry.cache_clear()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # psycopg's async API runs on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    with mongo_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


def kode(
    *args: str, cwd: Path | None = None, stdin: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``kode ARGS`` in a fresh interpreter; plugins found through their entry points."""
    return subprocess.run(
        [sys.executable, "-m", "kode_core", *args],
        env=user_environment(),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


PLUGINS = ("kode_sqlite._plugin", "kode_pg._plugin", "kode_mongo._plugin", "kode_redis._plugin")


@functools.cache
def registry() -> Registry:
    """Every plugin, registered explicitly (tests never autoload)."""
    return load_registry([importlib.import_module(name) for name in PLUGINS], autoload=False)


def open_store(url: str) -> AbstractAsyncContextManager[SessionStore]:
    """The test's own handle on the store ``url`` names."""
    return parse_store(url, registry=registry()).open(SESSIONS, registry=registry())


async def supported_versions(url: str, *families: Family[Any]) -> dict[str, int]:
    """The schema version ``kode migrate`` takes each family of the store ``url`` to."""
    config = parse_store(url, registry=registry())
    versions: dict[str, int] = {}
    for family in families:
        async with config.open(family, registry=registry(), auto_migrate=False) as store:
            versions[family.name] = store.supported_schema_version
    return versions
