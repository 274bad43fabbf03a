"""kode's conformance kit against a real MongoDB-wire server: each family, and the engine."""

from __future__ import annotations

import pytest

from kode_core.testing import (
    AgentStoreConformance,
    EngineConformance,
    RunStoreConformance,
    SessionStoreConformance,
    StoreFactory,
    ThreadStoreConformance,
)


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


class TestMongoThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory


class TestMongoRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory
