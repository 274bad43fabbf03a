"""kode's conformance kit against a real Redis server: each family, and the engine."""

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


class TestRedisThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory


class TestRedisRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, redis_factory: StoreFactory) -> StoreFactory:
        return redis_factory
