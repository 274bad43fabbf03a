"""create_store, create_store_from_env and one backend pool serving both service families."""

import pytest

import kode_core
from kode_core import ConfigurationError, ExtendedAgentStore, SessionStore

pytestmark = pytest.mark.anyio


async def test_create_store_from_env_opens_the_named_store_and_owns_its_backend() -> None:
    store = kode_core.create_store_from_env({"KODE_STORE_TYPE": "memory", "KODE_NAMESPACE": "t1"})
    assert isinstance(store, ExtendedAgentStore)
    assert store.namespace == "t1"
    async with store:
        todos = kode_core.agents.TodoSnapshot(todos=[], version=1, updated_at=0)
        await store.save_todos("a", todos)
        assert await store.list_agents() == ["a"]


@pytest.mark.parametrize(
    ("store_type", "named"),
    [
        ("pg", ("KODE_PG_URL", "POSTGRES_HOST")),
        ("postgres", ("KODE_PG_URL", "POSTGRES_HOST")),
        ("mongo", ("KODE_MONGO_URL",)),
        ("redis", ("KODE_REDIS_URL",)),
    ],
)
def test_a_server_engine_without_its_location_names_the_missing_variables(
    store_type: str, named: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        kode_core.create_store_from_env({"KODE_STORE_TYPE": store_type, "POSTGRES_DB": "x"})
    for variable in named:
        assert variable in str(raised.value)


def test_the_session_resolver_keeps_driver_defaults_without_a_location() -> None:
    assert kode_core.defaults_from_env({"KODE_STORE_TYPE": "pg"}) == {"pg": {}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "nope"}, "unknown kind 'nope'"),
        ({"type": "memory", "colour": 1}, "'colour' is unknown"),
        ({"kind": "memory", "options": [1]}, "'options' must be a mapping"),
        ({"kind": "memory", "options": {"namespace": "Bad Name"}}, "namespace"),
        (42, "got int"),
        ("ftp://x", "ftp"),
    ],
)
def test_bad_store_configs_name_the_problem(config: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        kode_core.create_store(config)  # type: ignore[arg-type]


async def test_create_store_takes_a_mapping_a_url_or_a_store_config() -> None:
    for config in ({"type": "memory", "options": {"namespace": "n1"}}, "memory://#n1"):
        async with kode_core.create_store(config) as store:
            assert store.namespace == "n1"
            assert (await store.health_check()).healthy


async def test_one_pool_serves_session_and_agent_stores_from_one_backend() -> None:
    async with kode_core.BackendPool({"memory": {}}) as pool:
        sessions = kode_core.session_stores(pool)
        agents = kode_core.agent_stores(pool)
        session_store = sessions.build({"kind": "memory", "options": {"namespace": "a"}})
        agent_store = agents.build({"kind": "memory", "options": {"namespace": "b"}})
        assert isinstance(session_store, SessionStore)
        assert isinstance(agent_store, ExtendedAgentStore)
        assert len(pool.open_backends) == 1
        await sessions.aclose()  # a map made from a shared pool leaves its backends open
        assert len(pool.open_backends) == 1
        with pytest.raises(ConfigurationError, match="closed"):
            sessions.build({"kind": "memory"})
        assert agents.build({"kind": "memory"}).namespace == "default"
    assert pool.open_backends == ()
