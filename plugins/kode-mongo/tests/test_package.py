"""kode-mongo as a distribution: what it exports and what its entry point registers."""

import kode_mongo
from kode_core.testing import check_exports, check_plugin


def test_the_package_exports_each_public_name_once() -> None:
    check_exports(kode_mongo)


def test_the_entry_point_registers_the_mongo_kind_for_sessions_and_agents() -> None:
    check_plugin(
        "kode-mongo",
        "mongo",
        backend=kode_mongo.MongoBackend,
        options=kode_mongo.MongoOptions,
        services=("sessions", "agents"),
    )
