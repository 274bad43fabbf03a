import os

# Tests never autoload plugins: each one registers what it uses.
os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def database_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test session's shared database file: SQLite's "server". Namespaces keep tests apart."""
    return tmp_path_factory.mktemp("sqlite") / "kode.db"
