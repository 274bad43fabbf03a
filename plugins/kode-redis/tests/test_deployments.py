"""The redis deployment and channel stores' key layout, against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
import redis.asyncio as aioredis

from kode_core.channels import CHANNELS, ChannelStore
from kode_core.deployments import DEPLOYMENTS, DeploymentStore
from kode_core.testing import StoreFactory, TestServer, unique_namespace
from kode_redis._deployments.schema import DeploymentLayout

pytestmark = pytest.mark.anyio


@pytest.fixture
async def raw(shared_server: TestServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(shared_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def deployments(redis_factory: StoreFactory) -> AsyncIterator[DeploymentStore]:
    async with redis_factory.open_family(
        DEPLOYMENTS, heartbeat_interval=1, heartbeat_ttl=5
    ) as stores:
        yield stores.build(redis_factory.descriptor(unique_namespace("d")))


async def test_liveness_is_a_key_redis_expires_after_the_ttl(
    deployments: DeploymentStore, raw: aioredis.Redis
) -> None:
    await deployments.start("d:1", "http://a", ["f"])
    live = DeploymentLayout(deployments.namespace).record("d:1") + ":live"
    assert 0 < await raw.pttl(live) <= 5000
    await raw.pexpire(live, 1)  # as if the TTL had passed with no heartbeat
    with anyio.fail_after(5):
        while await raw.exists(live):
            await anyio.sleep(0.01)
    assert [d.deployment_id for d in await deployments.list_deployments()] == []
    assert [d.deployment_id for d in await deployments.list_deployments(False)] == ["d:1"]


async def test_stop_and_prune_leave_no_key_behind(
    deployments: DeploymentStore, raw: aioredis.Redis
) -> None:
    prefix = f"kode:{deployments.namespace}:"
    await deployments.start("d1", "http://a", ["f", "g"])
    await deployments.start("d2", "http://b", ["f"])
    await deployments.stop("d1")
    await raw.delete(DeploymentLayout(deployments.namespace).record("d2") + ":live")
    await raw.zadd(DeploymentLayout(deployments.namespace).all, {"d2": 0}, xx=True)
    assert await deployments.prune() == 1
    assert sorted(await raw.keys(prefix + "*")) == [prefix + "meta"]


async def test_removing_channels_leaves_no_key_behind(
    redis_factory: StoreFactory, raw: aioredis.Redis
) -> None:
    async with redis_factory.open_family(CHANNELS) as stores:
        store: ChannelStore = stores.build(redis_factory.descriptor(unique_namespace("c")))
        prefix = f"kode:{store.namespace}:"
        for channel_id in ("c:1", "c{2}"):
            await store.add_channel(channel_id, "chat", {"a": 1})
            await store.set_state(channel_id, {"s": 1})
            await store.subscribe("t:1", channel_id)
            await store.subscribe("t%2", channel_id)
        await store.remove_channels(["c:1", "c{2}"])
        assert sorted(await raw.keys(prefix + "*")) == [prefix + "meta"]
