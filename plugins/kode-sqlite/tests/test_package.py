"""kode-sqlite as a distribution: what it exports and what its entry point registers."""

import kode_sqlite
from kode_core.testing import check_exports, check_plugin


def test_the_package_exports_each_public_name_once() -> None:
    check_exports(kode_sqlite)


def test_the_entry_point_registers_the_sqlite_kind_with_sessions_and_agents() -> None:
    check_plugin(
        "kode-sqlite",
        "sqlite",
        backend=kode_sqlite.SqliteBackend,
        options=kode_sqlite.SqliteOptions,
        services=("sessions", "agents"),
    )
