from pathlib import Path

import pytest

from kode_core.testing import AgentStoreConformance, StoreFactory

PLUGINS = ("kode_sqlite._plugin",)


class TestSqliteAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, database_path: Path) -> StoreFactory:
        return StoreFactory("sqlite", {"path": str(database_path)}, PLUGINS)
