"""kode's conformance kit against a real Redis server: each family, and the engine."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from kode_core.agents import ExtendedAgentStore
from kode_core.testing import (
    AgentStoreConformance,
    ChannelStoreConformance,
    DeploymentStoreConformance,
    EngineConformance,
    RunStoreConformance,
    SecretStoreConformance,
    SessionStoreConformance,
    StoreFactory,
    TestCluster,
    TestServer,
    ThreadStoreConformance,
    WorkflowStoreConformance,
)
from kode_core.testing.agents import EngineDump
from kode_redis._secrets.raw import RedisRawSecretRows


class TestRedisEngine(EngineConformance):
    """Schema versions, server-only options, one backend per pool, closing: every family."""

    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


class TestRedisSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


class TestRedisAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory

    @pytest.fixture
    def engine_dump(self, shared_server: TestServer) -> EngineDump:
        return _redis_dump(shared_server.url)


class TestRedisSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory

    @pytest.fixture
    def raw_secret_rows(self) -> RedisRawSecretRows:
        return RedisRawSecretRows()


class TestRedisChannelStore(ChannelStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


class TestRedisDeploymentStore(DeploymentStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


class TestRedisWorkflowStore(WorkflowStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


class TestRedisThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


class TestRedisRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


# -- production shape: a 3-master Redis Cluster --------------------------------------------


class TestRedisClusterSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, cluster_factory: StoreFactory) -> StoreFactory:
        return cluster_factory


class TestRedisClusterAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, cluster_factory: StoreFactory) -> StoreFactory:
        return cluster_factory

    @pytest.fixture
    def engine_dump(self, shared_cluster: TestCluster) -> EngineDump:
        return _cluster_dump(shared_cluster)


class TestRedisClusterSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, cluster_factory: StoreFactory) -> StoreFactory:
        return cluster_factory

    @pytest.fixture
    def raw_secret_rows(self) -> RedisRawSecretRows:
        return RedisRawSecretRows()


def _redis_dump(url: str) -> EngineDump:
    async def dump(store: ExtendedAgentStore) -> dict[bytes, bytes | None]:
        # Every key of the namespace with its serialized value, on a client of its own.
        client = Redis.from_url(url)
        try:
            keys = sorted([key async for key in client.scan_iter(f"kode:{store.namespace}:*")])
            return {key: await client.dump(key) for key in keys}
        finally:
            await client.aclose()

    return dump


def _cluster_dump(cluster: TestCluster) -> EngineDump:
    async def dump(store: ExtendedAgentStore) -> dict[bytes, bytes | None]:
        # Every key of the namespace on every primary, with its serialized value.
        node = cluster.nodes[0]
        client = RedisCluster(host=node.host, port=node.port)
        try:
            keys = sorted([key async for key in client.scan_iter(f"kode:{store.namespace}:*")])
            return {key: await client.dump(key) for key in keys}
        finally:
            await client.aclose()

    return dump
