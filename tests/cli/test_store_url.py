"""Stores named by URL or JSON descriptor: what each part selects; errors name the fault."""

import pytest

import kode_core
from kode_core import StoreSpecError, parse_store

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("text", "kind", "options", "namespace"),
    [
        ("sqlite:///data/kode.db", "sqlite", {"path": "data/kode.db"}, None),
        ("sqlite:////var/lib/kode.db#tenant_a", "sqlite", {"path": "/var/lib/kode.db"}, "tenant_a"),
        ("sqlite:///my%20dir/kode.db", "sqlite", {"path": "my dir/kode.db"}, None),
        (
            "postgresql://kode:pw@db:5432/kode#t1",
            "pg",
            {"url": "postgresql://kode:pw@db:5432/kode"},
            "t1",
        ),
        ("postgres://db/kode", "pg", {"url": "postgres://db/kode"}, None),
        (
            "mongodb://h1:27017,h2:27017/agents?replicaSet=rs0",
            "mongo",
            {"url": "mongodb://h1:27017,h2:27017/agents?replicaSet=rs0", "database": "agents"},
            None,
        ),
        (
            "mongodb+srv://cluster.example/",
            "mongo",
            {"url": "mongodb+srv://cluster.example/"},
            None,
        ),
        ("redis://cache:6379/0#b", "redis", {"url": "redis://cache:6379/0"}, "b"),
        ("rediss://cache", "redis", {"url": "rediss://cache"}, None),
        ("memory://#scratch", "memory", {}, "scratch"),
    ],
)
def test_a_url_names_kind_options_and_namespace(
    text: str, kind: str, options: dict[str, str], namespace: str | None
) -> None:
    config = parse_store(text)
    assert (config.kind, dict(config.options), config.namespace) == (kind, options, namespace)


def test_a_descriptor_may_set_server_only_options_and_names_kinds_by_alias() -> None:
    config = parse_store(
        '{"kind": "postgres", "options": {"url": "postgresql://db/k", "max_pool_size": 4,'
        ' "namespace": "tenant_a"}}'
    )
    assert config.kind == "pg"
    assert dict(config.options) == {"url": "postgresql://db/k", "max_pool_size": 4}
    assert config.defaults()["pg"]["namespace"] == "tenant_a"
    assert parse_store('{"kind": "memory"}').defaults() == {"memory": {}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kode.db", "neither a store URL"),
        ("ftp://files/x", "unknown scheme 'ftp'; use one of memory://, mongodb://"),
        ("sqlite://host/kode.db", "a sqlite URL has no host ('host')"),
        ("sqlite:///", "no database file named"),
        ("sqlite:///x.db?mode=ro", "a sqlite URL takes no query"),
        ("postgresql:///kode", "no host named"),
        ("redis://cache:63x79/0", "the port is not a number"),
        ("mongodb:///kode", "no host named"),
        ("memory://elsewhere", "a memory URL is just memory://"),
        ("", "empty"),
        ("{nope", "not valid JSON: Expecting property name"),
        ('{"kind": "pg", "type": "pg"}', "has both 'kind' and 'type'"),
        ('{"kind": "pg", "option": {}}', "field 'option' is unknown"),
        ('{"options": {}}', 'no "kind" string'),
        ('{"kind": "pg", "options": [1]}', "'options' must be a mapping"),
    ],
)
def test_a_malformed_store_is_refused_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(StoreSpecError) as caught:
        parse_store(text)
    assert problem in str(caught.value)
    assert isinstance(caught.value, kode_core.ConfigurationError)


@pytest.mark.parametrize(
    "text", ["redis://cache#Tenant-A", '{"kind": "pg", "options": {"namespace": "A B"}}']
)
def test_a_bad_namespace_is_an_invalid_option_whatever_names_the_store(text: str) -> None:
    with pytest.raises(kode_core.InvalidOptionError) as caught:
        parse_store(text)
    assert caught.value.field == "namespace"
    assert "must match [a-z][a-z0-9_]{0,39}" in str(caught.value)


def test_errors_and_descriptions_never_show_the_password() -> None:
    with pytest.raises(StoreSpecError) as caught:
        parse_store("postgresql://kode:hunter2@db:54x/kode")
    assert "hunter2" not in str(caught.value)
    assert "kode:***@db" in str(caught.value)
    described = parse_store("redis://:hunter2@cache:6379/0#t").describe()
    assert described == "redis at redis://:***@cache:6379/0, namespace 't'"


def test_an_unknown_kind_is_refused_listing_the_kinds_and_aliases() -> None:
    with pytest.raises(kode_core.UnknownKindError, match="available kinds: 'memory'"):
        parse_store('{"kind": "cassandra"}')


async def test_a_parsed_store_opens_and_closes_its_backend() -> None:
    async with parse_store("memory://#tenant_a").open(kode_core.SESSIONS) as store:
        await store.append({"project_key": "p", "session_id": "s"}, [{"type": "t"}])
        assert store.namespace == "tenant_a"
        assert await store.count_entries({"project_key": "p", "session_id": "s"}) == 1
