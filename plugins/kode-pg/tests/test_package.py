"""kode-pg as a distribution: what it exports, what its entry point registers, how
operators name the kind."""

import kode_pg
import kode_pg._plugin
from kode_core import load_registry, parse_store, store_config_from_env
from kode_core.testing import PackageConformance


class TestPackage(PackageConformance):
    distribution, kind, package = "kode-pg", "pg", kode_pg
    backend, options = kode_pg.PgBackend, kode_pg.PgOptions
    aliases = ("postgres", "postgresql")
    url_schemes = ("postgresql", "postgres")
    families = (
        "agents",
        "channels",
        "deployments",
        "runs",
        "secrets",
        "sessions",
        "threads",
        "workflows",
    )
    env_location = ("KODE_PG_URL", "POSTGRES_HOST")


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
