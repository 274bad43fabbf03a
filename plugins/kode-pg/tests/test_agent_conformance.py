"""The agent-store conformance kit against a real PostgreSQL server."""

import pytest

from kode_core.testing import AgentStoreConformance, StoreFactory


class TestPgAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_url: str) -> StoreFactory:
        return StoreFactory("pg", {"url": pg_url}, ("kode_pg._plugin",))
