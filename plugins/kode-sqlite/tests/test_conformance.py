from pathlib import Path

import pytest

from kode_core.testing import SessionStoreConformance, StoreFactory

PLUGINS = ("kode_sqlite._plugin",)


class TestSqliteSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, database_path: Path) -> StoreFactory:
        return StoreFactory("sqlite", {"path": str(database_path)}, PLUGINS)
