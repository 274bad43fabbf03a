"""kode's conformance kit against a real PostgreSQL server: each family, and the engine."""

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


class TestPgEngine(EngineConformance):
    """Schema versions, server-only options, one backend per pool, closing: every family."""

    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory


class TestPgSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory


class TestPgAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory


class TestPgThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory


class TestPgRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory
