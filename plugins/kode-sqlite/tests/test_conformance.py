"""kode's conformance kit on a real SQLite file: each family, and the engine."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import anyio
import pytest

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
    ThreadStoreConformance,
    WorkflowStoreConformance,
)
from kode_core.testing.agents import EngineDump
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

    @pytest.fixture
    def engine_dump(self, sqlite_factory: StoreFactory) -> EngineDump:
        return _sqlite_dump(str(sqlite_factory.defaults["path"]))


class TestSqliteSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory

    @pytest.fixture
    def raw_secret_rows(self) -> SqliteRawSecretRows:
        return SqliteRawSecretRows()


class TestSqliteChannelStore(ChannelStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory


class TestSqliteDeploymentStore(DeploymentStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory: StoreFactory) -> StoreFactory:
        return sqlite_factory


class TestSqliteWorkflowStore(WorkflowStoreConformance):
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


def _sqlite_dump(path: str) -> EngineDump:
    async def dump(store: ExtendedAgentStore) -> list[str]:
        # Every row of the namespace's tables, as SQL, read on a connection of its own.
        def read() -> list[str]:
            with closing(sqlite3.connect(path)) as conn:
                return [line for line in conn.iterdump() if store.namespace in line]

        return await anyio.to_thread.run_sync(read)

    return dump
