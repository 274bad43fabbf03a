"""kode's conformance kit against a real PostgreSQL server: each family, and the engine."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

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
from kode_pg._secrets.raw import PgRawSecretRows


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

    @pytest.fixture
    def engine_dump(self, pg_url: str) -> EngineDump:
        return _pg_dump(pg_url)


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

    @pytest.fixture
    def engine_dump(self, pg_url: str) -> EngineDump:
        return _pg_dump(pg_url)  # the server behind PgBouncer, directly


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

    @pytest.fixture
    def engine_dump(self, serializable_pg: TestServer) -> EngineDump:
        return _pg_dump(serializable_pg.url)


class TestPgSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory

    @pytest.fixture
    def raw_secret_rows(self) -> PgRawSecretRows:
        return PgRawSecretRows()


class TestPgChannelStore(ChannelStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory


class TestPgDeploymentStore(DeploymentStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_factory: StoreFactory) -> StoreFactory:
        return pg_factory


class TestPgWorkflowStore(WorkflowStoreConformance):
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


# -- every other family behind PgBouncer in transaction mode -------------------------


class TestPgBouncerSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory

    @pytest.fixture
    def raw_secret_rows(self) -> PgRawSecretRows:
        return PgRawSecretRows()


class TestPgBouncerChannelStore(ChannelStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


class TestPgBouncerDeploymentStore(DeploymentStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


class TestPgBouncerWorkflowStore(WorkflowStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


class TestPgBouncerThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


class TestPgBouncerRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, pgbouncer_factory: StoreFactory) -> StoreFactory:
        return pgbouncer_factory


# -- every other family on a server whose default isolation is serializable ----------


class TestSerializableServerSecretStore(SecretStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory

    @pytest.fixture
    def raw_secret_rows(self) -> PgRawSecretRows:
        return PgRawSecretRows()


class TestSerializableServerChannelStore(ChannelStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory


class TestSerializableServerDeploymentStore(DeploymentStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory


class TestSerializableServerWorkflowStore(WorkflowStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory


class TestSerializableServerThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory


class TestSerializableServerRunStore(RunStoreConformance):
    @pytest.fixture
    def store_factory(self, serializable_factory: StoreFactory) -> StoreFactory:
        return serializable_factory


def _pg_dump(url: str) -> EngineDump:
    async def dump(store: ExtendedAgentStore) -> list[tuple[str, list[str]]]:
        # Every row of every table in the namespace's schema, on a connection of its own.
        schema = f"kode_{store.namespace}"
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            tables = await (
                await conn.execute(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = %s ORDER BY table_name",
                    (schema,),
                )
            ).fetchall()
            dumped = []
            for (table,) in tables:
                name = sql.Identifier(schema, table)
                query = sql.SQL("SELECT row_to_json(t)::text FROM {} AS t").format(name)
                rows = await (await conn.execute(query)).fetchall()
                dumped.append((table, sorted(row for (row,) in rows)))
            return dumped

    return dump
