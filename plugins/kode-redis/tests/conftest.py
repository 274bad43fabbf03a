"""Shared fixtures: one real Redis server for the session, plugins loaded explicitly."""

from __future__ import annotations

import os

os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # tests register their plugins explicitly

from collections.abc import Iterator

import pytest

from kode_core.testing import (
    StoreFactory,
    TestCluster,
    TestServer,
    redis_cluster_server,
    redis_server,
)

PLUGINS = ("kode_redis._plugin",)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # redis.asyncio runs on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def shared_server() -> Iterator[TestServer]:
    """The Redis server shared by the tests that do not stop it."""
    with redis_server() as server:
        yield server


@pytest.fixture
def redis_factory(shared_server: TestServer) -> StoreFactory:
    return StoreFactory("redis", {"url": shared_server.url}, PLUGINS)


@pytest.fixture(scope="session")
def shared_cluster() -> Iterator[TestCluster]:
    """A 3-master Redis Cluster shared by the whole session (namespaces isolate tests)."""
    with redis_cluster_server(masters=3) as cluster:
        yield cluster


@pytest.fixture
def cluster_factory(shared_cluster: TestCluster) -> StoreFactory:
    return StoreFactory("redis", {"url": shared_cluster.url}, PLUGINS)
