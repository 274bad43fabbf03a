"""kode's conformance kit on a real SQLite file: each family, and the engine."""

from __future__ import annotations

import pytest

from kode_core.testing import (
    AgentStoreConformance,
    EngineConformance,
    SecretStoreConformance,
    SessionStoreConformance,
    StoreFactory,
)
from kode_sqlite._secrets.raw import SqliteRawSecretRows


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


class TestSqliteSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory

    @pytest.fixture
    def raw_secret_rows(self) -> SqliteRawSecretRows:
        return SqliteRawSecretRows()
