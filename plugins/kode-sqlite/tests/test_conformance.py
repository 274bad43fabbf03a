"""kode's conformance kit on a real SQLite file: each family, and the engine."""

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


class TestSqliteEngine(EngineConformance):
    """Schema versions, server-only options, one backend per pool, closing: every family."""

    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory


class TestSqliteSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory


class TestSqliteAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory


class TestSqliteThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory


class TestSqliteRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory
