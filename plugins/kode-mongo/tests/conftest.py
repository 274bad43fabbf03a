"""Real secantus servers (MongoDB wire protocol) for kode-mongo's tests."""

from __future__ import annotations

import os

os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # tests register their plugins explicitly

from collections.abc import Iterator

import pytest

from kode_core.testing import StoreFactory, TestServer, mongo_server

PLUGINS = ("kode_mongo._plugin",)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # pymongo's async API runs on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def mongo() -> Iterator[TestServer]:
    """One server shared by the whole session; tests isolate themselves by namespace."""
    with mongo_server() as server:
        yield server


@pytest.fixture
def dedicated_mongo() -> Iterator[TestServer]:
    """A server of this test's own, free to stop and restart."""
    with mongo_server() as server:
        yield server


@pytest.fixture
def mongo_factory(mongo: TestServer) -> StoreFactory:
    return StoreFactory("mongo", {"url": mongo.url, "connect_timeout": 5.0}, PLUGINS)
