"""kode's conformance kit against a real MongoDB-wire server: each family, and the engine."""

from __future__ import annotations

from typing import Any

import bson
import pytest
from pymongo import AsyncMongoClient

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
    TestServer,
    ThreadStoreConformance,
    WorkflowStoreConformance,
)
from kode_core.testing.agents import EngineDump
from kode_mongo._secrets.raw import MongoRawSecretRows


class TestMongoEngine(EngineConformance):
    """Schema versions, server-only options, one backend per pool, closing: every family."""

    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


class TestMongoSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


class TestMongoAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory

    @pytest.fixture
    def engine_dump(self, mongo: TestServer) -> EngineDump:
        return _mongo_dump(mongo.url)


class TestMongoSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory

    @pytest.fixture
    def raw_secret_rows(self) -> MongoRawSecretRows:
        return MongoRawSecretRows()


class TestMongoChannelStore(ChannelStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


class TestMongoDeploymentStore(DeploymentStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


class TestMongoWorkflowStore(WorkflowStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


class TestMongoThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


class TestMongoRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


def _mongo_dump(url: str) -> EngineDump:
    async def dump(store: ExtendedAgentStore) -> dict[str, list[bytes]]:
        # Every document of the namespace's collections, on a client of its own.
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
        try:
            database = client[store.database]  # type: ignore[attr-defined]
            dumped = {}
            for name in sorted(await database.list_collection_names()):
                if name.startswith(f"{store.namespace}."):
                    documents = await database[name].find().to_list()
                    dumped[name] = sorted(bson.encode(document) for document in documents)
            return dumped
        finally:
            await client.close()

    return dump
