"""kode-sqlite as a distribution: what it exports and what its entry point registers."""

import pytest

import kode_sqlite
from kode_core import StoreSpecError, load_registry, parse_store, store_config_from_env
from kode_core.testing import PackageConformance
from kode_sqlite import _plugin


class TestPackage(PackageConformance):
    distribution, kind, package = "kode-sqlite", "sqlite", kode_sqlite
    backend, options = kode_sqlite.SqliteBackend, kode_sqlite.SqliteOptions
    aliases = ()
    url_schemes = ("sqlite",)
    env_location = ()
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


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/kode.db", "data/kode.db"),
        ("sqlite:////var/lib/kode.db#tenant_a", "/var/lib/kode.db"),
        ("sqlite:///my%20dir/kode.db", "my dir/kode.db"),
    ],
)
def test_a_sqlite_url_names_the_database_file(url: str, path: str) -> None:
    config = parse_store(url, registry=load_registry([_plugin], autoload=False))
    assert (config.kind, dict(config.options)) == ("sqlite", {"path": path})


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite://host/kode.db", "a sqlite URL has no host"),
        ("sqlite:///x.db?mode=ro", "a sqlite URL takes no query"),
        ("sqlite:///", "no database file named"),
    ],
)
def test_a_sqlite_url_that_names_no_file_says_how_to_write_one(url: str, problem: str) -> None:
    registry = load_registry([_plugin], autoload=False)
    with pytest.raises(StoreSpecError, match=problem) as caught:
        parse_store(url, registry=registry)
    assert "sqlite:////absolute/path.db" in str(caught.value)


def test_kode_sqlite_path_names_the_file_and_without_it_the_embedded_default_is_used() -> None:
    registry = load_registry([_plugin], autoload=False)
    named = store_config_from_env({"KODE_SQLITE_PATH": "data/a.db"}, registry=registry)
    assert (named.kind, dict(named.options), named.embedded) == (
        "sqlite",
        {"path": "data/a.db"},
        False,
    )
    assert store_config_from_env({}, registry=registry).embedded
