"""kode's conformance kit on a real SQLite file: each family, and the engine."""

from __future__ import annotations

import pytest

from kode_core.testing import (
    AgentStoreConformance,
    EngineConformance,
    SessionStoreConformance,
    StoreFactory,
    WorkflowStoreConformance,
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


class TestSqliteWorkflowStore(WorkflowStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory
