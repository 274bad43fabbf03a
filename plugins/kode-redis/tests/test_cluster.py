"""kode-redis on a real 3-master Redis Cluster: routing, listings, fork, refused families."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster

import kode_core
from kode_core import BackendError, NotSupportedError, OptionValueError, parse_store
from kode_core.agents import ExtendedAgentStore
from kode_core.sessions import SessionStore
from kode_core.testing import StoreFactory, TestCluster, unique_namespace
from kode_core.testing.agents.samples import conversation, everything, fill
from kode_redis import RedisOptions
from kode_redis._schema import escape, meta_key

pytestmark = pytest.mark.anyio

#: The families whose scripts still span hash slots: refused on a cluster.
NOT_CLUSTER_SAFE = ("threads", "runs", "workflows", "channels", "deployments")


@pytest.fixture
async def raw(shared_cluster: TestCluster) -> AsyncIterator[RedisCluster]:
    """A plain cluster client, to see where the store's keys live."""
    node = shared_cluster.nodes[0]
    client = RedisCluster(host=node.host, port=node.port, decode_responses=True)
    await client.initialize()  # learns which primary owns which slot
    yield client
    await client.aclose()


@pytest.fixture
async def sessions(cluster_factory: StoreFactory) -> AsyncIterator[SessionStore]:
    async with cluster_factory.open() as stores:
        yield stores.build(cluster_factory.descriptor(unique_namespace()))


@pytest.fixture
async def agents(cluster_factory: StoreFactory) -> AsyncIterator[ExtendedAgentStore]:
    async with cluster_factory.open_agents() as stores:
        yield stores.build(cluster_factory.descriptor(unique_namespace()))


def node_of(client: RedisCluster, key: str) -> str:
    """``host:port`` of the primary that owns ``key``'s slot."""
    node = client.get_node_from_key(key)
    assert node is not None
    return str(node.name)


def agent_key(namespace: str, agent_id: str) -> str:
    return f"kode:{namespace}:agent:{{{escape(agent_id)}}}:info"


# -- the URL ------------------------------------------------------------------------------


def test_the_cluster_flag_and_seed_nodes_are_read_from_the_url() -> None:
    url = "redis://:pw@10.0.0.1:7000/0?cluster=true&node=10.0.0.2:7001&node=10.0.0.3:7002"
    target = RedisOptions(url=url).target
    assert target.cluster
    assert target.seeds == (("10.0.0.1", 7000), ("10.0.0.2", 7001), ("10.0.0.3", 7002))
    assert "cluster" not in target.url  # redis-py never sees kode's parameters
    assert "node" not in target.url
    assert not RedisOptions(url="redis://10.0.0.1:7000/0").target.cluster
    assert RedisOptions(url="redis://10.0.0.1/0", cluster=True).target.seeds == (
        ("10.0.0.1", 6379),
    )


async def test_a_store_url_with_cluster_true_reaches_the_cluster(
    shared_cluster: TestCluster, raw: RedisCluster
) -> None:
    registry = StoreFactory("redis", plugins=("kode_redis._plugin",)).registry()
    namespace = unique_namespace()
    config = parse_store(f"{shared_cluster.url}#{namespace}", registry=registry)
    assert dict(config.options) == {"url": shared_cluster.url}
    async with kode_core.agent_stores({"redis": dict(config.options)}, registry=registry) as m:
        store = m.build({"kind": "redis", "options": {"namespace": namespace}})
        await store.save_todos("a", {"todos": [], "version": 1, "updated_at": 0})
        assert await store.list_agents() == ["a"]
    assert await raw.exists(f"kode:{namespace}:agent:{{a}}:listed")


@pytest.mark.parametrize(
    ("url", "cluster", "message"),
    [
        ("redis://h:7000/0?cluster=maybe", False, "cluster must be true or false"),
        ("redis://h:7000/0?node=h2:7001", False, "node needs cluster=true"),
        ("redis://h:7000/0?cluster=true&node=h2", False, "node must be host:port"),
        ("redis://h:7000/3?cluster=true", False, "database 0 only"),
        ("unix:///run/redis.sock?cluster=true", False, "not a unix:// socket"),
        ("unix:///run/redis.sock", True, "not a unix:// socket"),
    ],
)
def test_a_cluster_url_that_cannot_work_is_refused(url: str, cluster: bool, message: str) -> None:
    with pytest.raises(OptionValueError, match=message):
        RedisOptions(url=url, cluster=cluster)


# -- routing and listings -----------------------------------------------------------------


async def test_a_namespace_whose_meta_key_is_on_another_node_than_the_seed_works(
    shared_cluster: TestCluster, raw: RedisCluster
) -> None:
    seed = f"{shared_cluster.nodes[0].host}:{shared_cluster.nodes[0].port}"
    namespace = next(
        ns for ns in (unique_namespace() for _ in range(1000)) if node_of(raw, meta_key(ns)) != seed
    )
    factory = StoreFactory("redis", {"url": shared_cluster.url}, ("kode_redis._plugin",))
    async with factory.open() as stores:
        store = stores.build(factory.descriptor(namespace))
        key = {"project_key": "p", "session_id": "s"}
        await store.append(key, [{"type": "user", "uuid": "u1"}])
        assert [entry["uuid"] for entry in await store.load(key) or []] == ["u1"]
    assert await raw.hget(meta_key(namespace), "schema_version") == "1"


async def test_list_projects_page_sees_the_projects_of_every_master(
    sessions: SessionStore, raw: RedisCluster
) -> None:
    projects = [f"project-{i:02d}" for i in range(30)]
    for project in projects:
        await sessions.append({"project_key": project, "session_id": "s"}, [{"type": "user"}])
    owners = {node_of(raw, f"kode:{sessions.namespace}:{{{escape(p)}}}:sessions") for p in projects}
    assert len(owners) == 3  # the projects really are spread over the three masters
    seen: list[str] = []
    after = None
    while True:
        page = await sessions.list_projects_page(after=after, limit=7)
        seen += page.projects
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == projects


async def test_list_agents_and_cross_agent_queries_see_every_master(
    agents: ExtendedAgentStore, raw: RedisCluster
) -> None:
    ids = [f"agent-{i:02d}" for i in range(30)]
    for agent_id in ids:
        await agents.save_messages(agent_id, [m.to_dict() for m in conversation(2, agent_id)])
    assert len({node_of(raw, agent_key(agents.namespace, a)) for a in ids}) == 3
    assert await agents.list_agents() == ids
    assert await agents.list_agents(prefix="agent-1") == ids[10:20]
    assert all([await agents.exists(agent_id) for agent_id in ids])
    found = await agents.query_messages(limit=1000)
    assert sorted({message.agent_id for message in found}) == ids
    assert len(found) == 2 * len(ids)
    await agents.delete(ids[0])
    assert await agents.list_agents() == ids[1:]


# -- fork across slots -------------------------------------------------------------------


async def test_fork_copies_everything_to_targets_in_other_slots(
    agents: ExtendedAgentStore, raw: RedisCluster
) -> None:
    await fill(agents, "source")
    forks = await agents.fork("source", count=6)
    source_node = node_of(raw, agent_key(agents.namespace, "source"))
    assert any(node_of(raw, agent_key(agents.namespace, f)) != source_node for f in forks)
    want = await everything(agents, "source")
    for fork in forks:
        got = await everything(agents, fork)
        assert got.pop("info") is not None
        assert got == {k: v for k, v in want.items() if k != "info"}
    assert sorted(await agents.list_agents()) == sorted(["source", *forks])


async def test_a_fork_that_fails_on_one_node_leaves_each_fork_complete_or_absent(
    shared_cluster: TestCluster, agents: ExtendedAgentStore, raw: RedisCluster
) -> None:
    # The engine itself refuses: the third master denies scripts to kode's user, so
    # a fork target whose slot is there cannot be written.
    denied = shared_cluster.nodes[2]
    denied_name = f"{denied.host}:{denied.port}"
    source = next(
        f"source-{i}"
        for i in range(1000)
        if node_of(raw, agent_key(agents.namespace, f"source-{i}")) != denied_name
    )
    await fill(agents, source)
    want = await everything(agents, source)
    denier = raw.get_node(host=denied.host, port=denied.port)
    await raw.execute_command("ACL", "SETUSER", "default", "-evalsha", "-eval", target_nodes=denier)
    try:
        for _ in range(10):  # each target lands on the denied master with p = 1/3
            with _refused() as refused:
                await agents.fork(source, count=6)
            if refused.raised:
                break
        else:
            pytest.fail("no fork target landed on the denied master in 10 forks of 6")
    finally:
        await raw.execute_command("ACL", "SETUSER", "default", "+@all", target_nodes=denier)
    listed = await agents.list_agents()
    holders = {
        key.split("{", 1)[1].split("}", 1)[0]
        async for key in raw.scan_iter(match=f"kode:{agents.namespace}:agent:*")
    }
    # No fork left keys without being listed: each is there whole, or not at all.
    assert holders == {escape(agent_id) for agent_id in listed}
    for agent_id in listed:  # forks written before a refused one stay, complete
        if agent_id != source:
            got = await everything(agents, agent_id)
            assert got.pop("info") is not None
            assert got == {k: v for k, v in want.items() if k != "info"}
            assert node_of(raw, agent_key(agents.namespace, agent_id)) != denied_name


class _refused:
    """Context manager: swallow the BackendError of a refused fork, remember if it came."""

    raised = False

    def __enter__(self) -> _refused:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        self.raised = isinstance(exc, BackendError)
        return self.raised


# -- families not yet cluster-safe --------------------------------------------------------


@pytest.mark.parametrize("family", NOT_CLUSTER_SAFE)
async def test_a_family_not_yet_cluster_safe_is_refused_when_its_store_is_built(
    cluster_factory: StoreFactory, family: str
) -> None:
    async with cluster_factory.open_family(family) as stores:
        with pytest.raises(NotSupportedError) as refused:
            stores.build(cluster_factory.descriptor(unique_namespace()))
    assert family in str(refused.value)
    assert "Redis Cluster" in str(refused.value)
