"""Real secantus servers (MongoDB wire protocol) for kode-mongo's tests."""

from __future__ import annotations

import os

os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # tests register their plugins explicitly

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.cursor import AsyncCursor

from kode_core.testing import StoreFactory, TestServer, mongo_server

PLUGINS = ("kode_mongo._plugin",)
Raw = AsyncMongoClient[dict[str, Any]]


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


@pytest.fixture
async def raw(mongo: TestServer) -> AsyncIterator[Raw]:
    """A plain pymongo client, to look at what the stores wrote."""
    client: Raw = AsyncMongoClient(mongo.url, serverSelectionTimeoutMS=5000)
    yield client
    await client.close()


@pytest.fixture
def connections(raw: Raw) -> Callable[[], Awaitable[int]]:
    """How many connections the server has open now (``serverStatus``)."""

    async def count() -> int:
        status = await raw.admin.command("serverStatus")
        return int(status["connections"]["current"])

    return count


@pytest.fixture
def index_used() -> Callable[[AsyncCursor[dict[str, Any]]], Awaitable[str | None]]:
    """The index the server's winning plan for a query scans (None: no index scan)."""

    async def explain(cursor: AsyncCursor[dict[str, Any]]) -> str | None:
        plan = (await cursor.explain())["queryPlanner"]["winningPlan"]
        while plan:
            if plan.get("stage") == "IXSCAN":
                return str(plan["indexName"])
            plan = plan.get("inputStage", {})
        return None

    return explain
