"""kode-mongo's session store beyond the conformance kit: options, client sharing,
unavailability, schema versioning and the storage layout, against a real server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from pymongo import AsyncMongoClient

from kode_core import (
    BackendError,
    BackendUnavailableError,
    BuilderMap,
    InvalidDataError,
    InvalidOptionError,
    SchemaVersionError,
    Store,
)
from kode_core.sessions import SessionKey
from kode_core.testing import StoreFactory, TestServer, unique_namespace
from kode_mongo import MongoOptions, MongoSessionStore
from kode_mongo._backend import mongo_address
from kode_mongo._sessions.schema import SESSIONS, key_id

pytestmark = pytest.mark.anyio

KEY = {"project_key": "proj", "session_id": "sess"}
SUB = {**KEY, "subpath": "subagents/agent-1"}
PASSWORD = "s3cret-Pa55"
PLUGINS = ("kode_mongo._plugin",)
Raw = AsyncMongoClient[dict[str, Any]]
Count = Callable[[], Awaitable[int]]
IndexUsed = Callable[[Any], Awaitable[str | None]]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the package and its options ---------------------------------------------------


@pytest.mark.parametrize(
    "database",
    ["", "a.b", "a/b", "a\\b", "a b", 'a"b', "a$b", "a\x00b", "x" * 64, "admin", "local"],
)
def test_a_bad_database_name_is_refused(database: str) -> None:
    stores = StoreFactory("mongo", {}, PLUGINS).open()
    with pytest.raises(InvalidOptionError) as caught:
        stores.build({"kind": "mongo", "options": {"database": database}})
    assert caught.value.field == "database"


@pytest.mark.parametrize("url", ["postgresql://h/db", "mongodb://", "h:27017", 27017])
def test_a_bad_url_is_refused(url: object) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        StoreFactory("mongo", {"url": url}, PLUGINS).open()
    assert caught.value.field == "url"


@pytest.mark.parametrize("family", ["sessions", "agents"])
def test_max_entry_bytes_must_fit_in_a_mongodb_document(family: str) -> None:
    factory = StoreFactory("mongo", {"max_entry_bytes": 17 * 1024 * 1024}, PLUGINS)
    stores: BuilderMap[Store] = factory.open_family(family)
    with pytest.raises(InvalidOptionError, match="16 MiB") as caught:
        stores.build(factory.descriptor("tenant"))
    assert caught.value.field == "max_entry_bytes"
    [backend] = stores.open_backends
    assert "client=unused" in repr(backend)  # refused before any I/O


def test_the_url_with_its_password_is_kept_out_of_reprs() -> None:
    options = MongoOptions(url=f"mongodb://kode:{PASSWORD}@db.example:27017")
    assert PASSWORD not in repr(options)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        (f"mongodb://kode:{PASSWORD}@db.example:27018/kode?tls=true", "db.example:27018"),
        ("mongodb://db.example", "db.example:27017"),
        ("mongodb://u:p@h1:1,h2,[::1]:3/?replicaSet=rs", "h1:1,h2:27017,[::1]:3"),
        ("mongodb+srv://cluster0.example.net/", "cluster0.example.net"),
    ],
)
def test_the_address_names_every_seed_host_and_no_credentials(url: str, address: str) -> None:
    assert mongo_address(url) == address


# -- one client per server configuration ------------------------------------------------


async def test_stores_on_one_backend_open_no_connections_of_their_own(
    mongo_factory: StoreFactory, connections: Count
) -> None:
    # (That builds share one backend is the kit's EngineConformance; this is its client.)
    async with mongo_factory.open() as stores:
        built = [stores.build(mongo_factory.descriptor(unique_namespace())) for _ in range(6)]
        await built[0].append(KEY, [{"type": "t"}])
        after_one = await connections()
        for store in built[1:6]:
            await store.append(KEY, [{"type": "t"}])
            assert await store.count_entries(KEY) == 1
        # A client per store would add its monitoring and pooled connections each time.
        assert await connections() <= after_one + 1
    with anyio.fail_after(5):  # the server notices closed sockets a moment later
        while await connections() >= after_one:
            await anyio.sleep(0.05)


# -- an engine that cannot be reached ------------------------------------------------------


async def test_an_unreachable_engine_raises_unavailable_within_connect_timeout() -> None:
    port = closed_port()
    url = f"mongodb://kode:{PASSWORD}@127.0.0.1:{port}/?authSource=admin"
    factory = StoreFactory("mongo", {"url": url, "connect_timeout": 1.0}, PLUGINS)
    async with factory.open() as stores:
        store = stores.build(factory.descriptor("tenant"))
        for call in (store.append(KEY, [{"type": "t"}]), store.load(KEY)):
            started = time.monotonic()
            with pytest.raises(BackendUnavailableError) as caught:
                await call
            assert time.monotonic() - started < 1.0 + 0.75
            assert caught.value.backend == "mongo"
            assert caught.value.address == f"127.0.0.1:{port}"
            assert f"127.0.0.1:{port}" in str(caught.value)
            assert PASSWORD not in str(caught.value)


async def test_an_append_while_the_engine_is_stopped_fails_fast_and_its_retry_is_stored_once(
    dedicated_mongo: TestServer,
) -> None:
    factory = StoreFactory("mongo", {"url": dedicated_mongo.url, "connect_timeout": 2.0}, PLUGINS)
    first = [{"type": "t", "uuid": f"a{i}"} for i in range(3)]
    batch = [{"type": "t", "uuid": f"b{i}"} for i in range(4)]
    async with factory.open() as stores:
        store = stores.build(factory.descriptor("tenant"))
        await store.append(KEY, first)
        dedicated_mongo.stop()
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as caught:
            await store.append(KEY, batch)
        assert time.monotonic() - started < 2.0 + 1.0
        assert caught.value.address == f"{dedicated_mongo.host}:{dedicated_mongo.port}"
        dedicated_mongo.start()
        await store.append(KEY, batch)
        await store.append(KEY, batch)  # a caller unsure whether the retry landed
        assert await store.count_entries(KEY) == len(first) + len(batch)
        assert await store.load(KEY) == first + batch


# -- schema versioning -------------------------------------------------------------------


async def test_the_schema_version_is_recorded_in_the_namespace(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        await stores.build(mongo_factory.descriptor(namespace)).count_entries(KEY)
    meta = await raw["kode"][f"{namespace}.kode_meta"].find_one({"_id": "sessions"})
    assert meta is not None
    assert meta["version"] == SESSIONS.version


async def test_a_newer_schema_version_is_refused(mongo_factory: StoreFactory, raw: Raw) -> None:
    namespace = unique_namespace()
    await raw["kode"][f"{namespace}.kode_meta"].insert_one(
        {"_id": "sessions", "version": SESSIONS.version + 1}
    )
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        with pytest.raises(SchemaVersionError, match="upgrade") as caught:
            await store.append(KEY, [{"type": "t"}])
    assert (caught.value.found, caught.value.supported) == (SESSIONS.version + 1, SESSIONS.version)
    assert f"{namespace}.kode_meta" in str(caught.value)
    assert await raw["kode"][f"{namespace}.session_entries"].count_documents({}) == 0


async def test_without_auto_migrate_a_fresh_namespace_is_refused_and_nothing_created(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open(auto_migrate=False) as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        with pytest.raises(SchemaVersionError) as caught:
            await store.append(KEY, [{"type": "t"}])
    assert (caught.value.found, caught.value.supported) == (0, SESSIONS.version)
    names = await raw["kode"].list_collection_names()
    assert not [name for name in names if name.startswith(f"{namespace}.")]


async def test_without_auto_migrate_a_migrated_namespace_is_used(
    mongo_factory: StoreFactory,
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        await stores.build(mongo_factory.descriptor(namespace)).append(KEY, [{"type": "t"}])
    async with mongo_factory.open(auto_migrate=False) as stores:
        assert await stores.build(mongo_factory.descriptor(namespace)).count_entries(KEY) == 1


async def test_concurrent_first_users_of_a_namespace_migrate_it_once(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()

    async def first_use(writer: int) -> None:
        # Separate builder maps: separate clients, as separate processes would have.
        async with mongo_factory.open() as stores:
            store = stores.build(mongo_factory.descriptor(namespace))
            await store.append(KEY, [{"type": "t", "uuid": f"w{writer}"}])

    async with anyio.create_task_group() as tg:
        for writer in range(4):
            tg.start_soon(first_use, writer)
    assert await raw["kode"][f"{namespace}.kode_meta"].count_documents({}) == 1
    assert await raw["kode"][f"{namespace}.session_entries"].count_documents({}) == 4


# -- storage layout ------------------------------------------------------------------------


async def test_indexes_back_every_lookup(mongo_factory: StoreFactory, raw: Raw) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        await stores.build(mongo_factory.descriptor(namespace)).count_entries(KEY)
    db = raw["kode"]
    keys = await db[f"{namespace}.session_keys"].index_information()
    entries = await db[f"{namespace}.session_entries"].index_information()
    assert keys["project_session_subpath"]["key"] == [
        ("project_key", 1),
        ("session_id", 1),
        ("subpath", 1),
    ]
    assert keys["project_session_subpath"]["unique"]
    assert keys["project_subpath_session"]["key"] == [
        ("project_key", 1),
        ("subpath", 1),
        ("session_id", 1),
    ]
    assert entries["key_position"]["key"] == [("k", 1), ("p", 1)]
    assert entries["key_position"]["unique"]
    assert entries["entry_uuid"]["key"] == [("k", 1), ("u", 1)]
    assert entries["entry_uuid"]["unique"]
    assert entries["entry_uuid"]["partialFilterExpression"] == {"u": {"$exists": True}}
    assert entries["uuid_lookup"]["key"] == [("u", 1)]


async def test_the_stores_queries_are_index_scans(
    mongo_factory: StoreFactory, raw: Raw, index_used: IndexUsed
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        await stores.build(mongo_factory.descriptor(namespace)).append(KEY, [{"type": "t"}])
    db = raw["kode"]
    keys, entries = db[f"{namespace}.session_keys"], db[f"{namespace}.session_entries"]
    kid = key_id(SessionKey.parse(KEY))
    queries = {
        "key_position": [
            entries.find({"k": kid, "p": {"$gt": 0, "$lt": 110}}).sort("p", 1),
            entries.find({"k": kid, "p": {"$gt": 0}}).sort("p", 1),
        ],
        "uuid_lookup": [entries.find({"u": {"$in": [f"{kid}:u:a", f"{kid}:u:b"]}})],
        # Version 1 entries of a transcript begun before the upgrade.
        "_id_": [entries.find({"_id": {"$in": [f"{kid}:u:a", f"{kid}:u:b"]}})],
        "project_subpath_session": [
            keys.find({"project_key": "proj", "subpath": "", "session_id": {"$gt": "a"}}).sort(
                "session_id", 1
            )
        ],
        "project_session_subpath": [
            keys.find({"project_key": "proj", "session_id": "sess", "subpath": {"$gt": ""}}),
            keys.find({"project_key": "proj", "session_id": "sess"}),
        ],
    }
    for index, cursors in queries.items():
        for cursor in cursors:
            assert await index_used(cursor) == index


async def test_each_batch_is_one_document_holding_its_json_texts(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    batch: list[dict[str, Any]] = [
        {"type": "a", "uuid": "u1", "big": 2**70, "$set": {"a.b": 1}},
        {"type": "b"},
    ]
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        await store.append(KEY, batch)
        await store.append(KEY, [{"type": "c", "uuid": "u1"}, {"type": "d", "uuid": "u2"}])
    kid = key_id(SessionKey.parse(KEY))
    docs = await raw["kode"][f"{namespace}.session_entries"].find().sort("p", 1).to_list()
    # p is the position of the document's last entry.
    assert [doc["_id"] for doc in docs] == [f"{kid}:b:2", f"{kid}:b:3"]
    assert [doc["p"] for doc in docs] == [2, 3]
    assert {doc["k"] for doc in docs} == {kid}
    assert [doc["u"] for doc in docs] == [[f"{kid}:u:u1"], [f"{kid}:u:u2"]]
    texts = [text for doc in docs for text in doc["j"]]
    assert [json.loads(text) for text in texts] == [*batch, {"type": "d", "uuid": "u2"}]
    head = await raw["kode"][f"{namespace}.session_keys"].find_one({"_id": kid})
    assert head is not None
    assert (head["project_key"], head["session_id"]) == ("proj", "sess")
    assert (head["subpath"], head["last_position"], head["entry_count"]) == ("", 3, 3)
    assert head["layout"] == 2


async def test_the_database_option_selects_the_database(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        store = stores.build(
            {"kind": "mongo", "options": {"namespace": namespace, "database": "tenant_db"}}
        )
        await store.append(KEY, [{"type": "t"}])
        assert isinstance(store, MongoSessionStore)
        assert store.database == "tenant_db"
        assert await stores.build(mongo_factory.descriptor(namespace)).load(KEY) is None
    assert await raw["tenant_db"][f"{namespace}.session_entries"].count_documents({}) == 1


async def test_a_failing_insert_leaves_no_partial_batch(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    kid = key_id(SessionKey.parse(KEY))
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        await store.append(KEY, [{"type": "t", "uuid": "first"}])
        # A document kode did not write sits where the batch's document goes.
        await raw["kode"][f"{namespace}.session_entries"].insert_one(
            {"_id": f"{kid}:b:3", "k": "foreign", "p": 1, "j": "{}"}
        )
        with pytest.raises(BackendError, match="E11000"):
            await store.append(KEY, [{"type": "t", "uuid": "second"}, {"type": "no-uuid"}])
        assert await store.load(KEY) == [{"type": "t", "uuid": "first"}]
        assert await store.count_entries(KEY) == 1


async def test_deleting_a_main_key_removes_its_documents_and_its_subkeys(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    other = {**KEY, "session_id": "other"}
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        for key in (KEY, SUB, other):
            await store.append(key, [{"type": "t", "uuid": "u"}, {"type": "t"}])
        await store.delete(KEY)
    db = raw["kode"]
    other_id = key_id(SessionKey.parse(other))
    assert await db[f"{namespace}.session_keys"].distinct("_id") == [other_id]
    assert await db[f"{namespace}.session_entries"].distinct("k") == [other_id]


async def test_a_key_mongodb_cannot_encode_is_refused_and_nothing_stored(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        # Refused by the key's validation or, failing that, by the driver's encoding.
        with pytest.raises(InvalidDataError):
            # A lone surrogate is a valid Python string but not UTF-8.
            await store.append({"project_key": "p\ud800", "session_id": "s"}, [{"type": "t"}])
    db = raw["kode"]
    assert await db[f"{namespace}.session_entries"].count_documents({}) == 0
    assert await db[f"{namespace}.session_keys"].count_documents({}) == 0
