"""The redis thread and run stores beyond the kit: listings never SCAN."""

from __future__ import annotations

import pytest
import redis

from kode_core import BackendPool
from kode_core.testing import StoreFactory, TestServer, unique_namespace

pytestmark = pytest.mark.anyio


def _scans(url: str) -> int:
    """How many SCAN-family commands the server has run."""
    with redis.Redis.from_url(url) as client:
        stats = client.info("commandstats")
    return sum(int(value["calls"]) for name, value in stats.items() if "scan" in name)


async def test_every_listing_reads_indexes_not_scan(
    redis_factory: StoreFactory, shared_server: TestServer
) -> None:
    descriptor = redis_factory.descriptor(unique_namespace("rs"))
    registry = redis_factory.registry()
    async with BackendPool({"redis": redis_factory.defaults}, registry=registry) as pool:
        threads, runs = pool.build("threads", descriptor), pool.build("runs", descriptor)
        for i in range(30):
            await threads.create_thread(f"acme:{i % 3}", thread_id=f"t{i}")
            await threads.save_messages(f"t{i}", [{"id": "m", "role": "user"}])
            run = {
                "run_id": f"r{i}",
                "agent_name": f"agent-{i % 2}",
                "thread_id": f"t{i}",
                "resource_id": f"acme:{i % 3}",
                "status": "running",
            }
            await runs.create_run(run)
        await threads.save_working_memory("acme", "resource", {"k": 1})
        before = _scans(shared_server.url)
        console = threads.console
        assert len(await console.list_threads(limit=100)) == 30
        assert len(await console.list_threads(owners=["acme"], limit=100)) == 30
        assert len(await console.list_threads(agent_name="agent-1", limit=100)) == 15
        assert len(await console.list_threads(resource_id="acme:1", limit=100)) == 10
        assert len(await threads.get_threads("acme:2")) == 10
        assert await console.distinct_agent_names() == ["agent-0", "agent-1"]
        assert len(await runs.get_runs_by_thread("t3")) == 1
        assert len(await threads.list_working_memory()) == 1
        assert _scans(shared_server.url) == before
