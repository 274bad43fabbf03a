"""Behaviour of the redis session store beyond the kit, against real servers."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import attrs
import pytest
import redis as redis_sync
import redis.asyncio as aioredis

import kode_redis
from kode_core import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    InvalidOptionError,
    SchemaVersionError,
)
from kode_core.backend import now_ms
from kode_core.sessions import SessionKey
from kode_core.testing import StoreFactory, TestServer, redis_server, unique_namespace
from kode_redis import RedisOptions
from kode_redis._options import redis_address, split_url
from kode_redis._schema import (
    RedisMigration,
    RedisSchema,
    ensure_schema,
    escape,
    stored_version,
)
from kode_redis._sessions.schema import SESSIONS, KeyLayout
from kode_redis._sessions.scripts import SessionScripts

pytestmark = pytest.mark.anyio

KEY = {"project_key": "proj", "session_id": "sess"}
PLUGINS = ("kode_redis._plugin",)


def url_of(server: TestServer, db: int = 0) -> str:
    return f"redis://{server.host}:{server.port}/{db}"


def factory(url: str) -> StoreFactory:
    return StoreFactory("redis", {"url": url}, PLUGINS)


@pytest.fixture
async def raw(shared_server: TestServer) -> AsyncIterator[aioredis.Redis]:
    """A plain client, to look at what the backend wrote."""
    client = aioredis.Redis.from_url(url_of(shared_server), decode_responses=True)
    yield client
    await client.aclose()


async def keys_of(client: aioredis.Redis, namespace: str) -> list[str]:
    return sorted([key async for key in client.scan_iter(match=f"kode:{namespace}:*")])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://localhost:6379", "redis://", "localhost:6379", "unix://", 42]
)
def test_an_invalid_url_is_refused_naming_the_field(url: object) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        factory("redis://localhost").open(url=url)
    assert caught.value.field == "url"


@pytest.mark.parametrize(
    "url", ["redis://localhost", "rediss://u:p@host:6380/2", "unix:///run/redis.sock?db=1"]
)
def test_redis_rediss_and_unix_urls_are_accepted(url: str) -> None:
    assert RedisOptions(url=url).url == url


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://:pw@cache.internal:6380/1", "cache.internal:6380"),
        ("rediss://user:pw@cache.internal", "cache.internal:6379"),
        ("unix:///run/redis/redis.sock?db=2", "/run/redis/redis.sock"),
    ],
)
def test_errors_name_the_address_without_credentials(url: str, address: str) -> None:
    assert redis_address(split_url(url)) == address


def test_the_url_is_kept_out_of_reprs() -> None:
    assert "secret" not in repr(RedisOptions(url="redis://:secret@localhost:6379/0"))


# -- one pool per server configuration (the kit checks that builds share the backend) ------


async def test_stores_of_one_backend_open_at_most_max_connections_and_close_them(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    db = 9  # only this test's connections select database 9
    async with factory(url_of(shared_server, db)).open(max_connections=3) as stores:
        built = [
            stores.build({"kind": "redis", "options": {"namespace": f"n{i}"}}) for i in range(30)
        ]
        for store in built[:5]:
            await store.append(KEY, [{"type": "t", "uuid": "u"}])
        assert await _kode_connections(raw, db) == 1
        async with anyio.create_task_group() as tg:
            for i, store in enumerate(built[:30]):
                tg.start_soon(store.append, {**KEY, "session_id": f"s{i}"}, [{"type": "t"}])
        assert 1 <= await _kode_connections(raw, db) <= 3
        assert await built[29].count_entries({**KEY, "session_id": "s29"}) == 1
    assert await _kode_connections(raw, db) == 0
    await raw.flushdb()


async def _kode_connections(raw: aioredis.Redis, db: int) -> int:
    with anyio.fail_after(2):
        clients = await raw.client_list()
    return sum(1 for c in clients if c.get("name") == "kode" and c.get("db") == str(db))


# -- an engine that cannot be reached --------------------------------------------------------


async def test_an_unreachable_engine_fails_fast_naming_redis_and_the_address() -> None:
    port = closed_port()
    url = f"redis://kode:hunter2@127.0.0.1:{port}/0"
    async with factory(url).open(connect_timeout=1.0) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": "down"}})
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as caught:
            await store.append(KEY, [{"type": "t"}])
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 0.5
    assert caught.value.backend == "redis"
    assert caught.value.address == f"127.0.0.1:{port}"
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)


async def test_a_server_that_accepts_but_never_answers_fails_within_the_socket_timeouts() -> None:
    # A listening socket nobody accepts from: TCP connects, the handshake gets no reply.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        url = f"redis://127.0.0.1:{port}/0"
        async with factory(url).open(socket_timeout=0.3) as stores:
            store = stores.build({"kind": "redis", "options": {"namespace": "hung"}})
            started = time.monotonic()
            with pytest.raises(BackendUnavailableError) as caught:
                await store.count_entries(KEY)
            elapsed = time.monotonic() - started
    # One attempt and one retry, each bounded by socket_timeout.
    assert elapsed < 2 * 0.3 + 0.5
    assert caught.value.address == f"127.0.0.1:{port}"


@pytest.fixture
def own_server() -> Iterator[TestServer]:
    """A server of this test alone, which it may stop and start."""
    with redis_server() as server:
        yield server


async def test_a_stopped_engine_fails_the_append_and_the_same_batch_is_stored_once_after_restart(
    own_server: TestServer,
) -> None:
    first = [{"type": "t", "uuid": f"a{i}"} for i in range(3)]
    retried = [{"type": "t", "uuid": f"b{i}"} for i in range(3)] + [{"type": "t", "uuid": "a0"}]
    async with factory(url_of(own_server)).open(connect_timeout=1.0) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": "restart"}})
        await store.append(KEY, first)
        own_server.stop()
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as caught:
            await store.append(KEY, retried)
        assert time.monotonic() - started < 1.0 + 0.5
        assert caught.value.address == f"{own_server.host}:{own_server.port}"
        own_server.start()
        await store.append(KEY, retried)
        await store.append(KEY, retried)
        assert await store.count_entries(KEY) == 6
        assert await store.load(KEY) == first + retried[:3]


# -- schema version ---------------------------------------------------------------------


async def test_the_schema_version_is_recorded_in_the_namespace_meta_hash(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    namespace = unique_namespace()
    async with factory(url_of(shared_server)).open() as stores:
        await stores.build({"kind": "redis", "options": {"namespace": namespace}}).count_entries(
            KEY
        )
    assert await raw.hget(f"kode:{namespace}:meta", "schema_version") == str(SESSIONS.version)


async def test_a_newer_recorded_schema_version_is_refused(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    namespace = unique_namespace()
    await raw.hset(f"kode:{namespace}:meta", "schema_version", str(SESSIONS.version + 1))
    async with factory(url_of(shared_server)).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        with pytest.raises(SchemaVersionError) as caught:
            await store.append(KEY, [{"type": "t"}])
    assert (caught.value.found, caught.value.supported) == (SESSIONS.version + 1, SESSIONS.version)
    assert await keys_of(raw, namespace) == [f"kode:{namespace}:meta"]


async def test_without_auto_migrate_a_fresh_namespace_is_refused_and_nothing_is_created(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    namespace = unique_namespace()
    async with factory(url_of(shared_server)).open(auto_migrate=False) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        with pytest.raises(SchemaVersionError) as caught:
            await store.append(KEY, [{"type": "t"}])
        with pytest.raises(SchemaVersionError):
            await store.load(KEY)
    assert caught.value.found == 0
    assert await keys_of(raw, namespace) == []


async def test_an_older_layout_runs_each_later_step_once_and_records_the_version(
    raw: aioredis.Redis,
) -> None:
    namespace = unique_namespace()
    ran: list[int] = []

    def step(version: int) -> RedisMigration:
        async def run(client: aioredis.Redis, ns: str) -> None:
            assert ns == namespace
            ran.append(version)

        return run

    later = RedisSchema("sessions", 3, {2: step(2), 3: step(3)})
    await raw.hset(f"kode:{namespace}:meta", "schema_version", "1")
    with pytest.raises(SchemaVersionError) as caught:
        await ensure_schema(raw, namespace, later, auto_migrate=False, where="here")
    assert (caught.value.found, ran) == (1, [])
    await ensure_schema(raw, namespace, later, auto_migrate=True, where="here")
    await ensure_schema(raw, namespace, later, auto_migrate=True, where="here")
    assert ran == [2, 3]
    assert await stored_version(raw, namespace, later) == 3
    # Code that knows only version 1 refuses the namespace now, and never lowers it.
    with pytest.raises(SchemaVersionError):
        await ensure_schema(raw, namespace, SESSIONS, auto_migrate=True, where="here")
    assert await raw.hget(f"kode:{namespace}:meta", "schema_version") == "3"


async def test_an_unreadable_recorded_version_is_a_backend_error_and_reads_as_newer(
    raw: aioredis.Redis,
) -> None:
    namespace = unique_namespace()
    await raw.hset(f"kode:{namespace}:meta", "schema_version", "v1")
    with pytest.raises(BackendError, match="unreadable schema_version"):
        await ensure_schema(raw, namespace, SESSIONS, auto_migrate=True, where="here")
    assert await stored_version(raw, namespace, SESSIONS) == SESSIONS.version + 1


# -- the key layout ---------------------------------------------------------------------------

AWKWARD_KEY = {"project_key": "a:b{c}%3A", "session_id": "x}{y:", "subpath": "sub:agents/{1}"}


async def test_keys_follow_the_documented_layout_with_one_hash_tag_per_project(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    namespace = unique_namespace()
    main = {k: v for k, v in AWKWARD_KEY.items() if k != "subpath"}
    async with factory(url_of(shared_server)).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        await store.append(main, [{"type": "t", "uuid": "u1", "text": "é\u0000"}])
        await store.append(AWKWARD_KEY, [{"type": "t", "uuid": "u1"}])
        assert await store.list_subkeys(main) == [AWKWARD_KEY["subpath"]]
    project = f"kode:{namespace}:{{{escape(main['project_key'])}}}"
    session = escape(main["session_id"])
    sub = escape(AWKWARD_KEY["subpath"])
    expected = {
        f"kode:{namespace}:meta": "hash",
        f"{project}:sessions": "zset",
        f"{project}:mtimes": "hash",
        f"{project}:summaries": "hash",
        f"{project}:subpaths:{session}": "set",
        f"{project}:t:{session}::log": "list",
        f"{project}:t:{session}::uuids": "set",
        f"{project}:t:{session}::meta": "hash",
        f"{project}:t:{session}:{sub}:log": "list",
        f"{project}:t:{session}:{sub}:uuids": "set",
        f"{project}:t:{session}:{sub}:meta": "hash",
    }
    assert {key: await raw.type(key) for key in await keys_of(raw, namespace)} == expected
    for key in expected:
        if key != f"kode:{namespace}:meta":
            tag = key[key.index("{") + 1 : key.index("}")]
            assert tag == escape(main["project_key"])
    # Entries are stored as their JSON text, one list element each.
    stored = await raw.lindex(f"{project}:t:{session}::log", 0)
    assert stored == '{"type":"t","uuid":"u1","text":"é\\u0000"}'
    assert json.loads(stored) == {"type": "t", "uuid": "u1", "text": "é\u0000"}


@pytest.mark.parametrize(
    ("one", "two"),
    [
        ({"project_key": "a:b", "session_id": "c"}, {"project_key": "a", "session_id": "b:c"}),
        (
            {"project_key": "p", "session_id": "s:x"},
            {"project_key": "p", "session_id": "s", "subpath": "x"},
        ),
        ({"project_key": "p%3A", "session_id": "s"}, {"project_key": "p:", "session_id": "s"}),
    ],
)
async def test_key_parts_containing_separators_never_share_a_transcript(
    shared_server: TestServer, one: dict[str, str], two: dict[str, str]
) -> None:
    assert KeyLayout("n").transcript(SessionKey.parse(one)) != KeyLayout("n").transcript(
        SessionKey.parse(two)
    )
    async with factory(url_of(shared_server)).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": unique_namespace()}})
        await store.append(one, [{"type": "one"}])
        await store.append(two, [{"type": "two"}])
        assert await store.load(one) == [{"type": "one"}]
        assert await store.load(two) == [{"type": "two"}]


async def test_deleting_a_session_removes_every_key_of_it(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    namespace = unique_namespace()
    async with factory(url_of(shared_server)).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        await store.append({**KEY, "session_id": "kept"}, [{"type": "t"}])
        kept = await keys_of(raw, namespace)
        await store.append(KEY, [{"type": "t", "uuid": "u"}])
        for i in range(3):
            await store.append({**KEY, "subpath": f"subagents/a{i}"}, [{"type": "t", "uuid": "u"}])
        await store.delete(KEY)
        assert await keys_of(raw, namespace) == kept
        assert [s["session_id"] for s in await store.list_sessions("proj")] == ["kept"]


# -- compare-and-set appends -----------------------------------------------------------------


def counting_fold(prev: Any, key: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
    count = prev["data"]["count"] if prev else 0
    return {"session_id": key["session_id"], "mtime": 0, "data": {"count": count + len(entries)}}


async def test_a_uuid_stored_by_another_writer_after_the_snapshot_makes_the_append_fold_again(
    shared_server: TestServer,
) -> None:
    namespace = unique_namespace()
    transcript = KeyLayout(namespace).transcript(SessionKey.parse(KEY))
    other = redis_sync_client(shared_server)
    folded: list[list[str]] = []

    def interfering_fold(prev: Any, key: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
        folded.append([e["uuid"] for e in entries])
        if len(folded) == 1:  # another writer stores u2 while this append is in flight
            other.rpush(transcript.log, '{"type":"other","uuid":"u2"}')
            other.sadd(transcript.uuids, "u2")
        return counting_fold(prev, key, entries)

    async with factory(url_of(shared_server)).open(summary_fold=interfering_fold) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        await store.append(KEY, [{"type": "mine", "uuid": "u1"}, {"type": "mine", "uuid": "u2"}])
        assert folded == [["u1", "u2"], ["u1"]]
        assert await store.load(KEY) == [
            {"type": "other", "uuid": "u2"},
            {"type": "mine", "uuid": "u1"},
        ]
        [summary] = await store.list_session_summaries("proj")
        assert summary["data"] == {"count": 1}
    other.close()


async def test_a_summary_changed_after_the_snapshot_is_folded_into_instead_of_overwritten(
    shared_server: TestServer,
) -> None:
    namespace = unique_namespace()
    summaries = KeyLayout(namespace).project("proj").summaries
    other = redis_sync_client(shared_server)
    calls: list[Any] = []

    def interfering_fold(prev: Any, key: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
        calls.append(prev and prev["data"])
        if len(calls) == 1:  # another writer's append lands: the summary moves on
            other.hset(summaries, "sess", '1:{"count":10}')
        return counting_fold(prev, key, entries)

    async with factory(url_of(shared_server)).open(summary_fold=interfering_fold) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        await store.append(KEY, [{"type": "mine", "uuid": "u1"}])
        assert calls == [None, {"count": 10}]
        [summary] = await store.list_session_summaries("proj")
        [listing] = await store.list_sessions("proj")
    assert summary["data"] == {"count": 11}
    assert summary["mtime"] == listing["mtime"]
    other.close()


async def test_concurrent_writers_fold_every_stored_entry_exactly_once(
    shared_server: TestServer,
) -> None:
    async with factory(url_of(shared_server)).open(summary_fold=counting_fold) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": unique_namespace()}})

        async def write(writer: int) -> None:
            for i in range(15):
                own = {"type": "t", "uuid": f"w{writer}-{i}"}
                shared = {"type": "t", "uuid": f"shared-{i}"}
                await store.append(KEY, [own, shared, {"type": "no-uuid"}])

        async with anyio.create_task_group() as tg:
            for writer in range(8):
                tg.start_soon(write, writer)
        [summary] = await store.list_session_summaries("proj")
        assert await store.count_entries(KEY) == 8 * 15 * 2 + 15
        assert summary["data"] == {"count": 8 * 15 * 2 + 15}


async def test_an_append_that_always_loses_raises_conflict_and_stores_nothing(
    shared_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kode_redis._sessions.store.MAX_ATTEMPTS", 3)
    namespace = unique_namespace()
    summaries = KeyLayout(namespace).project("proj").summaries
    other = redis_sync_client(shared_server)
    rounds: list[int] = []

    def always_interfering_fold(prev: Any, key: Any, entries: Any) -> dict[str, Any]:
        rounds.append(len(rounds) + 1)  # some other writer always wins the race
        other.hset(summaries, "sess", f'{len(rounds)}:{{"count":{len(rounds)}}}')
        return counting_fold(prev, key, entries)

    async with factory(url_of(shared_server)).open(summary_fold=always_interfering_fold) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        with pytest.raises(ConflictError):
            await store.append(KEY, [{"type": "mine", "uuid": "u1"}])
        assert await store.load(KEY) is None
        assert await store.list_sessions("proj") == []
    assert rounds == [1, 2, 3]
    assert other.hget(summaries, "sess") == '3:{"count":3}'
    other.close()


async def test_a_resent_append_call_is_applied_once(shared_server: TestServer) -> None:
    namespace = unique_namespace()
    session_key = SessionKey.parse({**KEY, "subpath": "sub"})
    layout = KeyLayout(namespace)
    keys = [
        *attrs.astuple(layout.transcript(session_key)),
        *attrs.astuple(layout.project("proj")),
        layout.subpaths(session_key),
    ]
    # Entries without uuid: only the batch id can tell a re-sent call from a new one.
    args: list[str | int] = ["batch-1", "sess", "sub", now_ms(), "dedupe", "", "", "00"]
    args += ["", '{"type":"t"}', "", '{"type":"t"}']
    async with factory(url_of(shared_server)).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        backend = stores.open_backends[0]
        assert isinstance(backend, kode_redis.RedisBackend)
        await store.count_entries(KEY)
        append = backend.scripts(SessionScripts.register).append
        assert await append(keys=keys, args=args) == 2
        assert await append(keys=keys, args=args) == -2
        assert await store.count_entries(session_key.as_dict()) == 2


def redis_sync_client(server: TestServer) -> redis_sync.Redis:
    return redis_sync.Redis.from_url(url_of(server), decode_responses=True)


async def test_two_stores_alternating_on_one_session_fold_every_entry_once(
    shared_server: TestServer,
) -> None:
    # Each store remembers the summary it wrote last and folds its next append from it;
    # the other store's appends make that stale, and the script must refuse the guess.
    async with factory(url_of(shared_server)).open(summary_fold=counting_fold) as stores:
        options = {"kind": "redis", "options": {"namespace": unique_namespace()}}
        first, second = stores.build(options), stores.build(options)
        for i in range(6):
            store = first if i % 3 else second
            await store.append(KEY, [{"type": "t", "uuid": f"u{i}"}, {"type": "no-uuid"}])
            await store.append(KEY, [{"type": "t", "uuid": f"u{i}"}])  # a retry: nothing new
        [summary] = await store.list_session_summaries("proj")
        assert await store.count_entries(KEY) == 12
        assert summary["data"] == {"count": 12}
