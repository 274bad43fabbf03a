"""Shared fixtures: real PostgreSQL servers for the session, plugins loaded explicitly.

Besides the plain server, two production shapes: the same server behind PgBouncer in
transaction mode, and a server whose ``default_transaction_isolation`` is serializable.
"""

from __future__ import annotations

import os

# Tests never autoload plugins: each one registers what it uses.
os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from collections.abc import Iterator

import psycopg
import pytest

from kode_core.testing import StoreFactory, TestServer, pgbouncer_server, postgres_server

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


@pytest.fixture(scope="session")
def pgbouncer(pg_server: TestServer) -> Iterator[TestServer]:
    """PgBouncer in transaction mode in front of ``pg_server``, with 4 server connections
    per database, so that clients (kode's pools in every process) share them."""
    with pgbouncer_server(pg_server, pool_mode="transaction", pool_size=4) as server:
        yield server


@pytest.fixture(scope="session")
def pgbouncer_url(pgbouncer: TestServer, pg_url: str) -> str:
    """``pg_url``'s database through :func:`pgbouncer`."""
    return pgbouncer.url.rsplit("/", 1)[0] + "/" + pg_url.rsplit("/", 1)[1]


@pytest.fixture
def pgbouncer_factory(pgbouncer_url: str) -> StoreFactory:
    """The ``pg`` kind through PgBouncer, with kode's defaults (no prepared statements)
    but a ``statement_timeout`` (too long to fire), so that every read runs in a
    transaction that sets it: the path the plain server's kits do not take."""
    return StoreFactory("pg", {"url": pgbouncer_url, "statement_timeout": 60}, PLUGINS)


@pytest.fixture(scope="session")
def serializable_pg() -> Iterator[TestServer]:
    """A PostgreSQL server whose transactions are serializable unless they say otherwise."""
    with postgres_server() as server:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET default_transaction_isolation = 'serializable'")
            conn.execute("SELECT pg_reload_conf()")
        yield server


@pytest.fixture
def serializable_factory(serializable_pg: TestServer) -> StoreFactory:
    """The ``pg`` kind on :func:`serializable_pg`."""
    return StoreFactory("pg", {"url": serializable_pg.url}, PLUGINS)
