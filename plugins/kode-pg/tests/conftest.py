"""Shared fixtures: one real PostgreSQL server for the session, plugins loaded explicitly."""

from __future__ import annotations

import os

# Tests never autoload plugins: each one registers what it uses.
os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from collections.abc import Iterator

import pytest

from kode_core.testing._servers import TestServer, postgres_server


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # psycopg's async API runs on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    """The PostgreSQL server shared by every test that does not stop it."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(pg_server: TestServer) -> str:
    return pg_server.url
