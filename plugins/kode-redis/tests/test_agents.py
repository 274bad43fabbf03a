"""Behaviour of the redis agent store beyond the shared contract, against a real server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import redis.asyncio as aioredis

import kode_core
from kode_core import SchemaVersionError
from kode_core.agents import Bookmark, ExtendedAgentStore
from kode_core.testing import StoreFactory, TestServer, unique_namespace
from kode_core.testing.agents.samples import at, conversation, fill, timeline, tool_call
from kode_redis import RedisAgentStore
from kode_redis._agents.queries import BATCH
from kode_redis._agents.schema import AGENTS, AgentLayout
from kode_redis._agents.scripts import AgentScripts
from kode_redis._schema import escape, version_field

pytestmark = pytest.mark.anyio

PLUGINS = ("kode_redis._plugin",)
#: Commands that change data; INFO commandstats counts each call, scripts' included.
WRITE_COMMANDS = ("hset", "hdel", "del", "zadd", "zrem", "set", "copy", "incr", "hsetnx")


def factory(server: TestServer) -> StoreFactory:
    return StoreFactory("redis", {"url": server.url}, PLUGINS)


@pytest.fixture
async def raw(shared_server: TestServer) -> AsyncIterator[aioredis.Redis]:
    """A plain client, to look at what the store wrote."""
    client = aioredis.Redis.from_url(shared_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def store(shared_server: TestServer) -> AsyncIterator[ExtendedAgentStore]:
    async with factory(shared_server).open_agents() as agents:
        yield agents.build({"kind": "redis", "options": {"namespace": unique_namespace()}})


async def keys_of(client: aioredis.Redis, namespace: str) -> list[str]:
    return sorted([key async for key in client.scan_iter(match=f"kode:{namespace}:*")])


async def engine_writes(client: aioredis.Redis) -> tuple[int, dict[str, int]]:
    """Fields and members the server changed so far (its dirty counter), and write calls."""
    persistence = await client.info("persistence")
    stats = await client.info("commandstats")
    calls = {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in WRITE_COMMANDS}
    return int(persistence["rdb_changes_since_last_save"]), calls


async def writes_of(client: aioredis.Redis, action: Any) -> tuple[int, dict[str, int]]:
    changes, calls = await engine_writes(client)
    await action
    changes_after, calls_after = await engine_writes(client)
    return changes_after - changes, {k: calls_after[k] - calls[k] for k in calls}


# -- O(1) writes --------------------------------------------------------------------------


async def test_saving_1000_messages_plus_one_changes_o1_fields_in_the_engine(
    store: ExtendedAgentStore, raw: aioredis.Redis
) -> None:
    messages = [m.to_dict() for m in conversation(1001)]
    await store.exists("warm-up")  # records the layout version before counting
    first, _ = await writes_of(raw, store.save_messages("a", messages[:1000]))
    # The counter counts per field: the first save really writes 1,000 rows (2 fields each).
    assert first >= 2000
    changed, calls = await writes_of(raw, store.save_messages("a", messages))
    # One state field, one body field, the replace token: whatever the list's length.
    assert changed == 3
    assert calls["hset"] == 3
    assert calls["hdel"] == calls["del"] == 0
    again, calls = await writes_of(raw, store.save_messages("a", messages))
    assert again == 0
    assert calls["hset"] == 0
    assert len(await store.load_messages("a")) == 1001


async def test_a_shorter_list_deletes_only_the_dropped_rows(
    store: ExtendedAgentStore, raw: aioredis.Redis
) -> None:
    messages = [m.to_dict() for m in conversation(1000)]
    await store.save_messages("a", messages)
    changed, calls = await writes_of(raw, store.save_messages("a", messages[:998]))
    assert changed == 2 * 2 + 1  # two rows from two hashes, and the token
    assert calls["hdel"] == 2
    records = [tool_call(f"c{i}") for i in range(300)]
    await store.save_tool_call_records("a", records)
    changed, _ = await writes_of(raw, store.save_tool_call_records("a", records[1:]))
    # Dropping the first record moves every other one: positions are part of a row.
    assert changed > 2 * 299


# -- one client for every family ------------------------------------------------------------


async def test_session_and_agent_stores_from_one_pool_share_one_client(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    registry = factory(shared_server).registry()
    namespace = unique_namespace()
    async with kode_core.BackendPool({"redis": {"url": shared_server.url}}, registry=registry) as (
        pool
    ):
        sessions = kode_core.session_stores(pool).build(
            {"kind": "redis", "options": {"namespace": namespace}}
        )
        await sessions.append({"project_key": "p", "session_id": "s"}, [{"type": "t"}])
        clients = int((await raw.info("clients"))["connected_clients"])
        agents = kode_core.agent_stores(pool)
        store = agents.build({"kind": "redis", "options": {"namespace": namespace}})
        assert isinstance(store, RedisAgentStore)
        await fill(store, "a")
        assert await store.query_messages(agent_id="a")
        assert len(pool.open_backends) == 1
        assert store._backend is pool.open_backends[0]
        assert int((await raw.info("clients"))["connected_clients"]) == clients


# -- literal prefixes --------------------------------------------------------------------------

#: Redis glob characters (SCAN MATCH, KEYS), the key separator and the hash-tag braces.
REDIS_SPECIAL = ["a*", "a?", "a[b]", "a[^b]", "a\\*", "a-", "a{t}", "a}", "a:b", "a%3A", "ab", "a"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a*", ["a*"]),
        ("a?", ["a?"]),
        ("a[", ["a[^b]", "a[b]"]),
        ("a\\", ["a\\*"]),
        ("a{", ["a{t}"]),
        ("a}", ["a}"]),
        ("a:", ["a:b"]),
        ("a%", ["a%3A"]),
        ("[a-z]*", []),
        ("*", []),
        ("", sorted(REDIS_SPECIAL)),
    ],
)
async def test_list_prefixes_with_redis_pattern_characters_are_literal(
    store: ExtendedAgentStore, prefix: str, expected: list[str]
) -> None:
    for agent_id in REDIS_SPECIAL:
        await store.save_todos(agent_id, {"todos": [], "version": 1, "updated_at": 0})
    assert await store.list_agents(prefix) == expected


async def test_listing_is_code_point_order_beyond_the_bmp(store: ExtendedAgentStore) -> None:
    # UTF-16 would put U+1F600 before U+FFFF; UTF-8 bytes (what BYLEX compares) do not.
    ids = ["a\U0001f600", "a\uffff", "a\u00e9", "aZ", "a\U0001f600b"]
    for agent_id in ids:
        await store.save_todos(agent_id, {"todos": [], "version": 1, "updated_at": 0})
    assert await store.list_agents("a") == sorted(ids)
    assert await store.list_agents("a\U0001f600") == ["a\U0001f600", "a\U0001f600b"]


# -- key layout ---------------------------------------------------------------------------------


async def test_an_agents_keys_share_one_hash_tag_and_delete_keeps_only_the_fence(
    store: ExtendedAgentStore, raw: aioredis.Redis
) -> None:
    agent_id = "x}{y:%"
    await fill(store, agent_id)
    await fill(store, "x")
    async with store.acquire_agent_lock(agent_id, timeout=5):
        pass
    layout = AgentLayout(store.namespace)
    tag = escape(agent_id)
    own = [key for key in await keys_of(raw, store.namespace) if f"{{{tag}}}" in key]
    assert own
    assert all(key[key.index("{") + 1 : key.index("}")] == tag for key in own)
    await store.delete(agent_id)
    left = await keys_of(raw, store.namespace)
    assert [key for key in left if f"{{{tag}}}" in key] == [layout.agent(agent_id).fence]
    assert await store.list_agents() == ["x"]
    assert await raw.hget(f"kode:{store.namespace}:meta", "agents_schema_version") == str(
        AGENTS.version
    )


async def test_events_past_2_to_the_53_keep_seq_order(store: ExtendedAgentStore) -> None:
    # Sorted-set scores are doubles; the BYLEX member keeps every int exact and ordered,
    # up to the largest seq any engine stores (2**63 - 1; the core refuses larger ones).
    seqs = [2**53 + 1, 5, 2**63 - 1, 2**53, 2**62 + 7, 0]
    for seq in seqs:
        entry = attrs.evolve(timeline(0), bookmark=Bookmark(seq=seq, timestamp=at(0)))
        await store.append_event("a", entry)
    read = [event.bookmark.seq async for event in store.read_events("a", page_size=2)]
    assert read == sorted(seqs)
    after = [event.bookmark.seq async for event in store.read_events("a", since=2**53)]
    assert after == [2**53 + 1, 2**62 + 7, 2**63 - 1]


async def test_cross_agent_queries_scan_every_batch(store: ExtendedAgentStore) -> None:
    agents = [f"agent-{i:04d}" for i in range(BATCH * 2 + 17)]
    for agent_id in agents:
        await store.save_messages(agent_id, conversation(1, agent_id))
    found = await store.query_messages(role="user", sort_by="agent_id", limit=len(agents) + 1)
    assert [item.agent_id for item in found] == agents
    assert [item.agent_id for item in await store.query_messages(offset=BATCH, limit=3)] == agents[
        BATCH : BATCH + 3
    ]


# -- schema -------------------------------------------------------------------------------------


async def test_a_newer_agent_layout_is_refused_and_sessions_keep_their_own_version(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    namespace = unique_namespace()
    meta = f"kode:{namespace}:meta"
    assert version_field(AGENTS) == "agents_schema_version"
    await raw.hset(meta, "agents_schema_version", str(AGENTS.version + 1))
    f = factory(shared_server)
    async with f.open_agents() as agents, f.open() as sessions:
        store = agents.build(f.descriptor(namespace))
        with pytest.raises(SchemaVersionError) as caught:
            await store.save_todos("a", {"todos": [], "version": 1, "updated_at": 0})
        assert (caught.value.found, caught.value.supported) == (
            AGENTS.version + 1,
            AGENTS.version,
        )
        await sessions.build(f.descriptor(namespace)).append(
            {"project_key": "p", "session_id": "s"}, [{"type": "t"}]
        )
    assert await raw.hgetall(meta) == {
        "agents_schema_version": str(AGENTS.version + 1),
        "schema_version": "1",
    }


# -- the lock -----------------------------------------------------------------------------------


async def test_the_lease_is_a_server_side_expiry_and_only_its_owner_renews_or_releases(
    store: ExtendedAgentStore, raw: aioredis.Redis
) -> None:
    lease_key = AgentLayout(store.namespace).agent("a").lease
    async with store.acquire_agent_lock("a", timeout=5, lease=30) as lock:
        # Redis expires the lease by its own clock, so no client clock takes part.
        assert 0 < await raw.pttl(lease_key) <= 30_000
        owner = await raw.get(lease_key)
        assert owner is not None
        assert not await store._lock_renew("a", "someone-else", 60_000)
        await store._lock_release("a", "someone-else")
        assert await raw.get(lease_key) == owner
        # A lapsed lease (expired on the server) is taken by the next owner, token + 1.
        await raw.pexpire(lease_key, 1)
        while await raw.exists(lease_key):
            pass
        taken = await store._lock_try_acquire("a", "next", 10_000)
        assert taken == lock.token + 1
    # The first holder's exit must not drop the new owner's lease.
    assert await raw.get(lease_key) == "next"
    assert not await store.exists("a")


async def test_fencing_tokens_keep_increasing_across_agent_deletes(
    store: ExtendedAgentStore,
) -> None:
    tokens = []
    for _ in range(3):
        await fill(store, "a")
        async with store.acquire_agent_lock("a", timeout=5) as lock:
            tokens.append(lock.token)
        await store.delete("a")
    assert tokens == sorted(set(tokens))
    assert len(tokens) == 3
    assert not await store.exists("a")


# -- compare-and-set, health ----------------------------------------------------------------


async def test_a_save_planned_from_a_stale_read_is_refused_and_planned_again(
    store: ExtendedAgentStore,
) -> None:
    assert isinstance(store, RedisAgentStore)
    mine = [m.to_dict() for m in conversation(6, "mine")]
    theirs = [m.to_dict() for m in conversation(9, "theirs")]
    await store.save_messages("a", [m.to_dict() for m in conversation(3, "old")])
    backend = store._backend
    scripts = backend.scripts(AgentScripts.register)
    calls: list[int] = []

    async def replace_after_a_rival(keys: list[str], args: list[Any]) -> Any:
        calls.append(len(calls))
        if len(calls) == 1:  # a rival's whole save lands between our read and our script
            backend._scripts[AgentScripts.register] = scripts
            await store.save_messages("a", theirs)
            backend._scripts[AgentScripts.register] = patched
        return await scripts.replace(keys=keys, args=args)

    patched = attrs.evolve(scripts, replace=replace_after_a_rival)  # type: ignore[arg-type]
    backend._scripts[AgentScripts.register] = patched
    store._seen.forget("a")  # the whole-list save (not a patch of the list it last wrote)
    try:
        await store.save_messages("a", mine)
    finally:
        backend._scripts[AgentScripts.register] = scripts
    assert len(calls) == 2  # refused once, then planned again from the rival's list
    assert [m.to_dict() for m in await store.load_messages("a")] == mine


async def test_health_check_reports_an_unreachable_server_without_raising() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    f = StoreFactory("redis", {"url": f"redis://127.0.0.1:{port}/0", "connect_timeout": 1}, PLUGINS)
    async with f.open_agents() as agents:
        health = await agents.build(f.descriptor(unique_namespace())).health_check()
    assert not health.healthy
    assert not health.reachable
    assert f"127.0.0.1:{port}" in health.detail


async def test_a_single_writers_next_save_reads_no_stored_state(
    store: ExtendedAgentStore, raw: aioredis.Redis
) -> None:
    messages = [m.to_dict() for m in conversation(500)]
    await store.save_messages("a", messages[:499])

    async def hgetall_calls() -> int:
        stats = await raw.info("commandstats")
        return int(stats.get("cmdstat_hgetall", {}).get("calls", 0))

    before = await hgetall_calls()
    await store.save_messages("a", messages)
    assert await hgetall_calls() == before
    assert len(await store.load_messages("a")) == 500


async def test_a_remembered_state_another_store_outdated_is_refused_then_read(
    shared_server: TestServer,
) -> None:
    f = factory(shared_server)
    namespace = unique_namespace()
    first = [m.to_dict() for m in conversation(5, "first")]
    other = [m.to_dict() for m in conversation(8, "other")]
    async with f.open_agents() as agents:
        one, two = (agents.build(f.descriptor(namespace)) for _ in range(2))
        await one.save_messages("a", first)
        await two.save_messages("a", other)
        await one.save_messages("a", first)  # its remembered state is the 5-message list
        assert [m.to_dict() for m in await two.load_messages("a")] == first
        await two.save_messages("a", first + other[:1])
        assert [m.to_dict() for m in await one.load_messages("a")] == first + other[:1]


async def test_a_version_1_namespace_is_migrated_and_its_agents_stay_listed(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    # Version 1 listed agents in one sorted set, which a Redis Cluster refuses to update
    # with the agent's own keys; version 2 gives each agent a `listed` key instead.
    namespace = unique_namespace()
    ids = ["alpha", "beta:1", "{gamma}"]
    f = factory(shared_server)
    async with f.open_agents() as agents:
        store = agents.build(f.descriptor(namespace))
        for agent_id in ids:
            await store.save_messages(agent_id, conversation(2, agent_id))
        before = {agent_id: await store.load_messages(agent_id) for agent_id in ids}
    # Take the namespace back to what version 1 wrote.
    layout = AgentLayout(namespace)
    await raw.delete(*(layout.agent(agent_id).listed for agent_id in ids))
    await raw.zadd(f"kode:{namespace}:agents", dict.fromkeys(ids, 0))
    await raw.hset(f"kode:{namespace}:meta", "agents_schema_version", "1")
    async with f.open_agents(auto_migrate=False) as agents:
        with pytest.raises(SchemaVersionError):
            await agents.build(f.descriptor(namespace)).list_agents()
    assert await raw.exists(f"kode:{namespace}:agents")  # refused: nothing was migrated
    async with f.open_agents() as agents:
        store = agents.build(f.descriptor(namespace))
        assert await store.list_agents() == sorted(ids)
        assert all([await store.exists(agent_id) for agent_id in ids])
        assert {agent_id: await store.load_messages(agent_id) for agent_id in ids} == before
    assert not await raw.exists(f"kode:{namespace}:agents")
    assert await raw.hget(f"kode:{namespace}:meta", "agents_schema_version") == "2"


async def test_event_pages_read_every_body_whole_whatever_the_page_size(
    store: ExtendedAgentStore, raw: aioredis.Redis
) -> None:
    # kode's JSON holds no raw newline, but a body written otherwise may: it must read
    # back as one event, and paging by members must go on after it.
    written = [timeline(seq, "control" if seq % 2 else "progress") for seq in range(11)]
    for event in written:
        await store.append_event("a", event)
    keys = AgentLayout(store.namespace).agent("a")
    member = (await raw.zrange(keys.events(), 4, 4))[0]
    await raw.hset(keys.event_body, member, written[4].to_json().replace(",", ",\n "))
    for page_size in (1, 3, 4, 10, 11, 500):
        read = [e async for e in store.read_events("a", page_size=page_size)]
        assert read == written, page_size
        control = [e async for e in store.read_events("a", channel="control", page_size=2)]
        assert control == written[1::2]
        since = [e async for e in store.read_events("a", since=4, page_size=page_size)]
        assert since == written[5:]
