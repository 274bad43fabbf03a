"""kode-redis as a distribution: what it exports and what its entry point registers."""

import kode_redis
from kode_core.testing import check_exports, check_plugin


def test_the_package_exports_each_public_name_once() -> None:
    check_exports(kode_redis)


def test_the_entry_point_registers_the_redis_kind_with_sessions_and_agents() -> None:
    check_plugin(
        "kode-redis",
        "redis",
        backend=kode_redis.RedisBackend,
        options=kode_redis.RedisOptions,
        services=("sessions", "agents"),
    )
