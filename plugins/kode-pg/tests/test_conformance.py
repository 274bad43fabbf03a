"""kode's conformance kit against a real PostgreSQL server: each family, and the engine."""

from __future__ import annotations

import pytest

from kode_core.testing import (
    AgentStoreConformance,
    EngineConformance,
    SessionStoreConformance,
    StoreFactory,
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


# -- production shapes: PgBouncer in transaction mode, a serializable server default ------


class TestPgBouncerEngine(EngineConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


class TestPgBouncerSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


class TestPgBouncerAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


class TestSerializableServerEngine(EngineConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory


class TestSerializableServerSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory


class TestSerializableServerAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory
