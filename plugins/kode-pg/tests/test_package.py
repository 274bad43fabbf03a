"""kode-pg as a distribution: what it exports, what its entry point registers, how
operators name the kind."""

import kode_pg
import kode_pg._plugin
from kode_core import load_registry, parse_store, store_config_from_env
from kode_core.testing import check_exports, check_plugin


def test_the_package_exports_each_public_name_once() -> None:
    check_exports(kode_pg)


def test_the_entry_point_registers_the_pg_kind_for_sessions_and_agents() -> None:
    info = check_plugin(
        "kode-pg",
        "pg",
        backend=kode_pg.PgBackend,
        options=kode_pg.PgOptions,
        services=("sessions", "agents"),
    )
    assert info.aliases == ("postgres", "postgresql")
    assert info.url_schemes == ("postgresql", "postgres")


def test_a_postgres_url_names_the_pg_kind_with_the_url_as_its_option() -> None:
    registry = load_registry([kode_pg._plugin], autoload=False)
    for url in ("postgresql://kode:pw@db:5432/app", "postgres://db/app"):
        config = parse_store(url, registry=registry)
        assert (config.kind, dict(config.options)) == ("pg", {"url": url})


def test_the_environment_names_the_pg_kind_by_its_url_or_its_parts() -> None:
    registry = load_registry([kode_pg._plugin], autoload=False)
    env = {"KODE_STORE_TYPE": "postgresql", "POSTGRES_HOST": "db", "POSTGRES_USER": "kode"}
    config = store_config_from_env(env, registry=registry)
    assert (config.kind, dict(config.options)) == (
        "pg",
        {"url": "postgresql://kode@db:5432/postgres"},
    )
    env["KODE_PG_URL"] = "postgresql://app@elsewhere/app"
    config = store_config_from_env(env, registry=registry)
    assert dict(config.options) == {"url": "postgresql://app@elsewhere/app"}
