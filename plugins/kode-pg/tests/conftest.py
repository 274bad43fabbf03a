"""Shared fixtures: one real PostgreSQL server for the session, plugins loaded explicitly."""

from __future__ import annotations

import os

# Tests never autoload plugins: each one registers what it uses.
os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from collections.abc import Iterator

import psycopg
import pytest

from kode_core.testing import StoreFactory, TestServer, postgres_server

PLUGINS = ("kode_pg._plugin",)


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
    """A database whose collation is not code point order (ICU ``en-US``).

    Every test runs in it, so listings that rely on the database's collation would
    come out in the wrong order.
    """
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(
            "CREATE DATABASE kode_en_us TEMPLATE template0 ENCODING 'UTF8'"
            " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    return pg_server.url.rsplit("/", 1)[0] + "/kode_en_us"


@pytest.fixture
def pg_factory(pg_url: str) -> StoreFactory:
    """The ``pg`` kind on the shared server, as the conformance kit opens it."""
    return StoreFactory("pg", {"url": pg_url}, PLUGINS)
