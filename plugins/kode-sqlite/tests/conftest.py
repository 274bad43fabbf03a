"""SQLite's "server" for kode-sqlite's tests: one database file per test session."""

import os

os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # tests register their plugins explicitly

from pathlib import Path

import pytest

from kode_core.testing import StoreFactory

PLUGINS = ("kode_sqlite._plugin",)


@pytest.fixture(scope="session")
def database_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test session's shared database file. Namespaces keep tests apart."""
    return tmp_path_factory.mktemp("sqlite") / "kode.db"


@pytest.fixture
def sqlite_factory(database_path: Path) -> StoreFactory:
    return StoreFactory("sqlite", {"path": str(database_path)}, PLUGINS)
