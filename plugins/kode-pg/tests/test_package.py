"""kode-pg as a distribution: what it exports and what its entry point registers."""

import kode_pg
from kode_core.testing import check_exports, check_plugin


def test_the_package_exports_each_public_name_once() -> None:
    check_exports(kode_pg)


def test_the_entry_point_registers_the_pg_kind() -> None:
    check_plugin(
        "kode-pg",
        "pg",
        backend=kode_pg.PgBackend,
        options=kode_pg.PgOptions,
        services=("sessions", "agents"),
    )
