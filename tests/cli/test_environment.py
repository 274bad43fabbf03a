import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import kode_core
from kode_core import ConfigurationError, InvalidOptionError, defaults_from_env

pytestmark = pytest.mark.anyio


def test_without_variables_the_embedded_default_is_chosen_and_its_folder_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = kode_core.store_config_from_env({"KODE_NAMESPACE": "t"})
    assert config.embedded
    assert config.defaults(auto_migrate=False)["sqlite"]["path"] == os.path.join(".kode", "kode.db")
    assert not (tmp_path / ".kode").exists()  # nothing may be created without migrations
    embedded = {"sqlite": {"path": os.path.join(".kode", "kode.db")}}
    assert defaults_from_env({}) == embedded
    assert defaults_from_env({"KODE_STORE_TYPE": ""}) == embedded
    assert (tmp_path / ".kode").is_dir()


def test_the_chosen_kind_reads_its_own_variables_only() -> None:
    env = {"KODE_STORE_TYPE": "sqlite", "KODE_SQLITE_PATH": "data/agents.db"}
    env |= {"KODE_REDIS_URL": "redis://elsewhere:6379/0", "POSTGRES_HOST": "db"}
    assert defaults_from_env(env) == {"sqlite": {"path": "data/agents.db"}}


@pytest.mark.parametrize(
    ("store_type", "kind"), [("postgres", "pg"), ("PG", "pg"), ("mongodb", "mongo")]
)
def test_store_types_name_kinds_as_the_kode_sdk_does(store_type: str, kind: str) -> None:
    assert list(defaults_from_env({"KODE_STORE_TYPE": store_type})) == [kind]


def test_postgres_parts_make_a_url_with_quoted_credentials() -> None:
    env = {"KODE_STORE_TYPE": "postgres", "POSTGRES_HOST": "db.internal", "POSTGRES_PORT": "6432"}
    env |= {"POSTGRES_DB": "kode_agents", "POSTGRES_USER": "kode", "POSTGRES_PASSWORD": "p@ss/w:rd"}
    url = defaults_from_env(env)["pg"]["url"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
        "postgresql",
        "db.internal",
        6432,
        "/kode_agents",
    )
    assert (parts.username, parts.password) == ("kode", "p%40ss%2Fw%3Ard")


def test_an_ipv6_postgres_host_is_bracketed() -> None:
    env = {"KODE_STORE_TYPE": "pg", "POSTGRES_HOST": "::1"}
    assert urlsplit(defaults_from_env(env)["pg"]["url"]).hostname == "::1"


def test_a_postgres_url_wins_over_its_parts() -> None:
    env = {"KODE_STORE_TYPE": "pg", "KODE_PG_URL": "postgresql://u@h/d", "POSTGRES_HOST": "x"}
    assert defaults_from_env(env) == {"pg": {"url": "postgresql://u@h/d"}}


def test_an_unknown_store_type_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"KODE_STORE_TYPE='nope'.*memory, mongo"):
        defaults_from_env({"KODE_STORE_TYPE": "nope"})


def test_a_bad_postgres_port_names_the_variable_and_not_the_password() -> None:
    env = {"KODE_STORE_TYPE": "pg", "POSTGRES_PORT": "54x", "POSTGRES_PASSWORD": "hunter2"}
    with pytest.raises(ConfigurationError, match="POSTGRES_PORT") as caught:
        defaults_from_env(env)
    assert "hunter2" not in str(caught.value)


async def test_the_defaults_make_a_builder_map_that_serves_the_namespace() -> None:
    env = {"KODE_STORE_TYPE": "memory", "KODE_NAMESPACE": "tenant_a"}
    async with kode_core.session_stores(defaults_from_env(env)) as stores:
        store = stores.build({"kind": stores.kinds[0]})
        await store.append({"project_key": "p", "session_id": "s"}, [{"type": "t"}])
        assert store.namespace == "tenant_a"
        assert await store.count_entries({"project_key": "p", "session_id": "s"}) == 1


def test_a_bad_namespace_from_the_environment_names_the_option() -> None:
    env = {"KODE_STORE_TYPE": "memory", "KODE_NAMESPACE": "Not Valid"}
    with pytest.raises(InvalidOptionError) as caught:
        kode_core.session_stores(defaults_from_env(env))
    assert caught.value.field == "namespace"


def test_the_resolver_returns_kind_server_options_and_namespace_for_any_service() -> None:
    env = {"KODE_STORE_TYPE": "redis", "KODE_REDIS_URL": "redis://cache:6379/1"}
    config = kode_core.store_config_from_env(env | {"KODE_NAMESPACE": "tenant_a"})
    assert (config.kind, dict(config.options), config.namespace) == (
        "redis",
        {"url": "redis://cache:6379/1"},
        "tenant_a",
    )
    assert not config.embedded
    assert config.defaults(auto_migrate=False) == {
        "redis": {"url": "redis://cache:6379/1", "namespace": "tenant_a", "auto_migrate": False}
    }
    assert config.descriptor() == {"kind": "redis"}


async def test_store_from_env_opens_the_named_store_and_closes_it() -> None:
    env = {"KODE_STORE_TYPE": "memory", "KODE_NAMESPACE": "tenant_b"}
    async with kode_core.store_from_env(env) as store:
        await store.append({"project_key": "p", "session_id": "s"}, [{"type": "t"}])
        assert store.namespace == "tenant_b"
        assert await store.load({"project_key": "p", "session_id": "s"}) == [{"type": "t"}]
