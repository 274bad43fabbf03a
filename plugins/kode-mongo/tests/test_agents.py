"""kode-mongo's agent store beyond the conformance kit: documents written per save,
one client for both families, literal prefixes, the lease lock and the schema."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timezone
from typing import Any

import anyio
import pytest
from pymongo import AsyncMongoClient, monitoring

import kode_mongo._plugin
from kode_core import (
    BackendPool,
    SchemaVersionError,
    agent_stores,
    load_registry,
    session_stores,
)
from kode_core.agents import AgentOptions
from kode_core.testing import StoreFactory, TestServer, unique_namespace
from kode_mongo import MongoAgentStore, MongoBackend, MongoOptions
from kode_mongo._agents.queries import prefix_filter
from kode_mongo._agents.schema import AGENTS
from kode_mongo._schema import Document

pytestmark = pytest.mark.anyio

AGENT = "agent-1"
PLUGINS = ("kode_mongo._plugin",)
Raw = AsyncMongoClient[dict[str, Any]]
Count = Callable[[], Awaitable[int]]
IndexUsed = Callable[[Any], Awaitable[str | None]]
_WRITES = {"insert", "update", "delete", "findAndModify"}


class DocumentsWritten(monitoring.CommandListener):
    """Counts the documents the server reports inserted, modified, upserted or deleted."""

    def __init__(self) -> None:
        self.total = 0
        self._names: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in _WRITES:
            self._names[event.request_id] = event.command_name

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        name = self._names.pop(event.request_id, None)
        reply = event.reply
        if name == "update":
            self.total += int(reply.get("nModified", 0)) + len(reply.get("upserted", []))
        elif name == "findAndModify":
            self.total += int(reply.get("lastErrorObject", {}).get("n", 0))
        elif name is not None:
            self.total += int(reply.get("n", 0))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._names.pop(event.request_id, None)


class CountingBackend(MongoBackend):
    """The mongo backend on a client that reports every command to ``listener``."""

    def __init__(self, options: MongoOptions, listener: DocumentsWritten) -> None:
        super().__init__(options)
        self._listener = listener

    def _new_client(self) -> AsyncMongoClient[Document]:
        return AsyncMongoClient(
            self._options.url, serverSelectionTimeoutMS=5000, event_listeners=[self._listener]
        )


@pytest.fixture
async def counted(mongo: TestServer) -> AsyncIterator[tuple[MongoAgentStore, DocumentsWritten]]:
    listener = DocumentsWritten()
    options = MongoOptions(url=mongo.url, namespace=unique_namespace())
    async with CountingBackend(options, listener) as backend:
        store = MongoAgentStore(backend, options, AgentOptions())
        await store.migrate()  # records the schema version: not a document of the agent's
        listener.total = 0
        yield store, listener


def message(index: int) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": f"message {index}"}]}


# -- (a) documents written per save ---------------------------------------------------------


async def test_saving_a_thousand_messages_plus_one_writes_two_documents(
    counted: tuple[MongoAgentStore, DocumentsWritten], raw: Raw
) -> None:
    store, written = counted
    conversation = [message(i) for i in range(1_000)]
    await store.save_messages(AGENT, conversation)
    assert written.total == 1_001  # every message and the agents document
    agents = raw["kode"][f"{store.namespace}.agents"]
    first = await agents.find_one({"_id": AGENT})
    assert first is not None

    written.total = 0
    await store.save_messages(AGENT, [*conversation, message(1_000)])
    # The new message and the agents document's revision; the 1,000 others untouched.
    assert written.total == 2
    second = await agents.find_one({"_id": AGENT})
    assert second is not None
    assert second["rev"] == first["rev"] + 1

    written.total = 0
    conversation[500] = message(-1)
    await store.save_messages(AGENT, conversation)  # one changed, one dropped at the end
    assert written.total == 3
    assert len(await store.load_messages(AGENT)) == 1_000


async def test_resaving_unchanged_tool_calls_writes_only_the_agents_document(
    counted: tuple[MongoAgentStore, DocumentsWritten],
) -> None:
    store, written = counted
    now = "2026-01-01T00:00:00+00:00"
    calls = [
        {
            "id": f"c{i}",
            "name": "search",
            "input": {"q": i},
            "state": "PENDING",
            "approval": {"required": False},
            "created_at": now,
            "updated_at": now,
            "audit_trail": [],
        }
        for i in range(50)
    ]
    await store.save_tool_call_records(AGENT, calls)
    written.total = 0
    await store.save_tool_call_records(AGENT, calls)
    assert written.total == 1


# -- (b) one client for both families ---------------------------------------------------------


async def test_a_session_store_and_an_agent_store_from_one_pool_share_one_client(
    mongo: TestServer, connections: Count
) -> None:
    namespace = unique_namespace()
    descriptor = {"kind": "mongo", "options": {"namespace": namespace}}
    registry = load_registry([kode_mongo._plugin], autoload=False)
    async with BackendPool({"mongo": {"url": mongo.url}}, registry=registry) as pool:
        sessions, agents = session_stores(pool), agent_stores(pool)
        session_store = sessions.build(descriptor)
        agent_store = agents.build(descriptor)
        await session_store.append({"project_key": "p", "session_id": "s"}, [{"type": "t"}])
        after_sessions = await connections()
        await agent_store.save_messages(AGENT, [message(0)])
        assert len(await agent_store.load_messages(AGENT)) == 1
        [backend] = pool.open_backends
        assert isinstance(agent_store, MongoAgentStore)
        assert agent_store._backend is backend
        # A client of its own would add its monitoring and pooled connections.
        assert await connections() <= after_sessions


# -- (c) literal prefixes -----------------------------------------------------------------------

#: MongoDB's own pattern and operator characters, regex metacharacters, and ids at the
#: edges of the code point range the prefix bound is computed from.
PREFIX_IDS = [
    "a",
    "a.b",
    "a.*",
    "a.*z",
    "ab",
    "a$",
    "a$z",
    "$a",
    "a^",
    "a\\",
    "a\\z",
    "a(b",
    "a|b",
    "a+",
    "a?",
    "a{1}",
    "a[b]",
    "a%",
    "a_",
    "a*",
    "a\ud7ff",
    "a\ud7ffz",
    "a\ue000",
    "a\U0010ffff",
    "a\U0010ffffz",
    "b",
]


async def test_list_prefixes_with_mongodb_pattern_characters_are_literal(
    mongo_factory: StoreFactory,
) -> None:
    async with mongo_factory.open_agents() as agents:
        store = agents.build(mongo_factory.descriptor(unique_namespace()))
        for agent_id in PREFIX_IDS:
            await store.save_todos(agent_id, {"todos": [], "version": 1, "updated_at": NOW})
        prefixes = [".", ".*", "a.", "a.*", "$", "a$", "^a", "a\\", "a(", "a|", "a+", "a?", "a{"]
        prefixes += ["a[", "a%", "a_", "a*", "a\ud7ff", "a\U0010ffff", "\U0010ffff", "a", ""]
        for prefix in prefixes:
            expected = sorted(i for i in PREFIX_IDS if i.startswith(prefix))
            assert await store.list_agents(prefix) == expected, prefix


def test_the_prefix_range_skips_surrogates_and_carries_past_the_last_code_point() -> None:
    assert prefix_filter("ab") == {"_id": {"$gte": "ab", "$lt": "ac"}}
    assert prefix_filter("a\ud7ff") == {"_id": {"$gte": "a\ud7ff", "$lt": "a\ue000"}}
    assert prefix_filter("a\U0010ffff") == {"_id": {"$gte": "a\U0010ffff", "$lt": "b"}}
    assert prefix_filter("\U0010ffff") == {"_id": {"$gte": "\U0010ffff"}}
    assert prefix_filter(None) == {}


# -- (d) the lease lock --------------------------------------------------------------------------

NOW = "2026-01-01T00:00:00+00:00"


async def test_the_lease_expiry_is_set_by_the_server_clock(
    mongo_factory: StoreFactory, raw: Raw, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client clock an hour ahead changes nothing: kode never reads it for the lease.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    async with mongo_factory.open_agents() as agents:
        store = agents.build(mongo_factory.descriptor(unique_namespace()))
        assert isinstance(store, MongoAgentStore)
        before = await _server_ms(raw)
        assert await store._lock_try_acquire(AGENT, "owner-a", 60_000) == 1
        after = await _server_ms(raw)
        lease = await raw["kode"][f"{store.namespace}.agent_locks"].find_one({"_id": AGENT})
        assert lease is not None
        assert before + 60_000 <= lease["expires"] <= after + 60_000
        assert await store._lock_try_acquire(AGENT, "owner-b", 60_000) is None


async def _server_ms(raw: Raw) -> int:
    reply = await raw["kode"].command(
        "aggregate", 1, pipeline=[{"$documents": [{}]}, {"$project": {"now": "$$NOW"}}], cursor={}
    )
    now = reply["cursor"]["firstBatch"][0]["now"]
    return int(now.replace(tzinfo=timezone.utc).timestamp() * 1000)


async def test_racing_first_acquirers_get_one_grant(mongo_factory: StoreFactory) -> None:
    async with mongo_factory.open_agents() as agents:
        store = agents.build(mongo_factory.descriptor(unique_namespace()))
        assert isinstance(store, MongoAgentStore)
        tokens: list[int | None] = []

        async def acquire(owner: str) -> None:
            tokens.append(await store._lock_try_acquire(AGENT, owner, 60_000))

        async with anyio.create_task_group() as tg:
            for owner in range(8):
                tg.start_soon(acquire, f"owner-{owner}")
        assert sorted(tokens, key=lambda token: token or 0) == [None] * 7 + [1]


async def test_only_the_owner_renews_or_releases_and_the_counter_survives_delete(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    async with mongo_factory.open_agents() as agents:
        store = agents.build(mongo_factory.descriptor(unique_namespace()))
        assert isinstance(store, MongoAgentStore)
        assert await store._lock_try_acquire(AGENT, "a", 60_000) == 1
        assert not await store._lock_renew(AGENT, "b", 60_000)
        await store._lock_release(AGENT, "b")
        assert await store._lock_try_acquire(AGENT, "b", 60_000) is None
        assert await store._lock_renew(AGENT, "a", 60_000)
        await store.save_messages(AGENT, [message(0)])
        await store.delete(AGENT)
        assert not await store.exists(AGENT)
        await store._lock_release(AGENT, "a")
        assert await store._lock_try_acquire(AGENT, "b", 60_000) == 2
        lease = await raw["kode"][f"{store.namespace}.agent_locks"].find_one({"_id": AGENT})
        assert lease is not None
        assert (lease["owner"], lease["token"]) == ("b", 2)


async def test_a_lapsed_lease_is_taken_over(mongo_factory: StoreFactory) -> None:
    async with mongo_factory.open_agents() as agents:
        store = agents.build(mongo_factory.descriptor(unique_namespace()))
        assert isinstance(store, MongoAgentStore)
        assert await store._lock_try_acquire(AGENT, "a", 150) == 1
        assert await store._lock_try_acquire(AGENT, "b", 150) is None
        await anyio.sleep(0.3)
        assert await store._lock_try_acquire(AGENT, "b", 150) == 2
        assert not await store._lock_renew(AGENT, "a", 150)


# -- schema and layout ---------------------------------------------------------------------------


async def test_the_agent_schema_version_is_its_own_record(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open_agents() as agents:
        await agents.build(mongo_factory.descriptor(namespace)).exists(AGENT)
    meta = raw["kode"][f"{namespace}.kode_meta"]
    assert await meta.find_one({"_id": "agents"}) == {"_id": "agents", "version": 1}
    assert await meta.find_one({"_id": "sessions"}) is None


async def test_a_newer_agent_schema_version_is_refused(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    await raw["kode"][f"{namespace}.kode_meta"].insert_one(
        {"_id": "agents", "version": AGENTS.version + 1}
    )
    async with mongo_factory.open_agents() as agents:
        store = agents.build(mongo_factory.descriptor(namespace))
        with pytest.raises(SchemaVersionError) as caught:
            await store.save_messages(AGENT, [message(0)])
    assert (caught.value.found, caught.value.supported) == (AGENTS.version + 1, 1)
    assert await raw["kode"][f"{namespace}.agent_messages"].count_documents({}) == 0


async def test_without_auto_migrate_nothing_is_created(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open_agents(auto_migrate=False) as agents:
        store = agents.build(mongo_factory.descriptor(namespace))
        with pytest.raises(SchemaVersionError):
            await store.save_messages(AGENT, [message(0)])
    names = await raw["kode"].list_collection_names()
    assert not [name for name in names if name.startswith(f"{namespace}.")]


async def test_the_agent_stores_lookups_are_index_scans(
    mongo_factory: StoreFactory, raw: Raw, index_used: IndexUsed
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open_agents() as agents:
        await agents.build(mongo_factory.descriptor(namespace)).save_messages(AGENT, [message(0)])
    db = raw["kode"]

    def named(suffix: str) -> Any:
        return db[f"{namespace}.{suffix}"]

    # (secantus picks the unique (a, f, k) index for the family's documents; MongoDB
    # would take (a, f, s, k), which also serves the sort: either is an index scan.)
    queries: dict[tuple[str, ...], list[Any]] = {
        ("agent_position",): [named("agent_messages").find({"a": AGENT}).sort("p", 1)],
        ("agent_seq",): [named("agent_events").find({"a": AGENT, "q": {"$gt": 5}}).sort("q", 1)],
        ("agent_channel_seq",): [
            named("agent_events").find({"a": AGENT, "ch": "progress", "q": {"$gt": 5}})
        ],
        ("agent_family_sort", "agent_family_key"): [
            named("agent_docs").find({"a": AGENT, "f": "snapshots"}).sort([("s", 1), ("k", 1)])
        ],
        ("agent_id",): [named("agent_tool_calls").find({"a": AGENT, "i": {"$in": ["c1"]}})],
    }
    for indexes, cursors in queries.items():
        for cursor in cursors:
            assert await index_used(cursor) in indexes, indexes
