"""kode's conformance kit against a real MongoDB-wire server: each family, and the engine."""

from __future__ import annotations

import pytest

from kode_core.testing import (
    AgentStoreConformance,
    EngineConformance,
    SecretStoreConformance,
    SessionStoreConformance,
    StoreFactory,
)
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


class TestMongoSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory

    @pytest.fixture
    def raw_secret_rows(self) -> MongoRawSecretRows:
        return MongoRawSecretRows()
