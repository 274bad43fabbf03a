"""kode-mongo's session layout 2 against a real server: batch documents split at
their caps, the upgrade of a version 1 namespace, and the head an append remembers
(which must never let a stale head write)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kode_core import BackendError
from kode_core.sessions import SessionKey
from kode_core.testing import StoreFactory, unique_namespace
from kode_mongo._schema import MongoSchema, ensure_schema
from kode_mongo._sessions import batches
from kode_mongo._sessions import store as store_module
from kode_mongo._sessions.schema import SESSIONS, key_id

pytestmark = pytest.mark.anyio

KEY = {"project_key": "proj", "session_id": "sess"}
Raw = AsyncMongoClient[dict[str, Any]]


def entry(uuid: str, prompt: str) -> dict[str, Any]:
    """A user entry: the summary fold keeps the first one's prompt."""
    return {"type": "user", "uuid": uuid, "message": {"role": "user", "content": prompt}}


def entries(*names: str) -> list[dict[str, Any]]:
    return [entry(name, f"entry {name}") for name in names]


async def summary_data(factory: StoreFactory, namespace: str) -> list[Any]:
    async with factory.open() as stores:
        summaries = await stores.build(factory.descriptor(namespace)).list_session_summaries("proj")
    return [summary["data"] for summary in summaries]


async def reference_summary(factory: StoreFactory, appends: list[list[dict[str, Any]]]) -> Any:
    """The summary one store folds from ``appends`` in a fresh namespace."""
    namespace = unique_namespace()
    async with factory.open() as stores:
        store = stores.build(factory.descriptor(namespace))
        for batch in appends:
            await store.append(KEY, batch)
    return await summary_data(factory, namespace)


# -- batch documents ---------------------------------------------------------------------


async def test_a_batch_over_the_entry_cap_spans_documents_and_reads_back_by_position(
    mongo_factory: StoreFactory, raw: Raw, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "ENTRIES_PER_DOCUMENT", 2)
    # No uuid hint: the retry below goes through a failing insert.
    monkeypatch.setattr(store_module, "_RECENT_UUIDS", 0)
    namespace = unique_namespace()
    batch = entries("a", "b", "c", "d", "e")
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        await store.append(KEY, batch)
        assert await store.load(KEY) == batch
        page = await store.load_page(KEY, after=1, limit=2)
        assert [(item.position, item.entry) for item in page.entries] == [
            (2, batch[1]),
            (3, batch[2]),
        ]
        assert page.next_after == 3
        assert await store.load_tail(KEY, 3) == batch[2:]
        assert await store.load_tail(KEY, 9) == batch
        assert [item.entry for item in (await store.load_page(KEY, after=4)).entries] == [batch[4]]
        # A retry fails the multi-document insert on the uuid index, then looks up.
        await store.append(KEY, batch)
        await store.append(KEY, [*batch, *entries("f")])
        assert await store.load(KEY) == [*batch, *entries("f")]
        assert await store.count_entries(KEY) == 6
    docs = await raw["kode"][f"{namespace}.session_entries"].find().sort("p", 1).to_list()
    assert [(doc["p"], len(doc["j"])) for doc in docs] == [(2, 2), (4, 2), (5, 1), (6, 1)]


async def test_a_batch_over_the_text_cap_spans_documents_counting_utf8_bytes(
    mongo_factory: StoreFactory, raw: Raw, monkeypatch: pytest.MonkeyPatch
) -> None:
    def text(value: dict[str, Any]) -> str:  # as kode encodes entries
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    first, second, last = entries("a", "b", "c")
    cap = len(text(first)) + len(text(second))
    monkeypatch.setattr(batches, "DOCUMENT_TEXT_BYTES", cap)
    # In characters, the wide entry and the last one fill the cap exactly; in
    # UTF-8 ("é" is two bytes) they are over it.
    wide: dict[str, Any] = {"type": "t", "text": ""}
    wide["text"] = "é" * (cap - len(text(last)) - len(text(wide)))
    batch = [first, second, wide, last]
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        await store.append(KEY, batch)
        assert await store.load(KEY) == batch
    docs = await raw["kode"][f"{namespace}.session_entries"].find().sort("p", 1).to_list()
    assert [len(doc["j"]) for doc in docs] == [2, 1, 1]


async def test_a_batch_spanning_documents_is_stored_whole_or_not_at_all(
    mongo_factory: StoreFactory, raw: Raw, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "ENTRIES_PER_DOCUMENT", 2)
    namespace = unique_namespace()
    kid = key_id(SessionKey.parse(KEY))
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        await store.append(KEY, entries("a"))
        # A document kode did not write sits where the batch's second document goes.
        await raw["kode"][f"{namespace}.session_entries"].insert_one(
            {"_id": f"{kid}:b:5", "k": "foreign", "p": 1, "j": []}
        )
        with pytest.raises(BackendError, match="E11000"):
            await store.append(KEY, entries("b", "c", "d", "e"))
        assert await store.load(KEY) == entries("a")
        assert await store.count_entries(KEY) == 1


# -- the upgrade from version 1 -------------------------------------------------------------


async def test_a_version_1_namespace_is_upgraded_and_its_entries_read_and_deduplicated(
    mongo_factory: StoreFactory, raw: Raw
) -> None:
    namespace = unique_namespace()
    db = raw["kode"]
    version_1 = MongoSchema("sessions", 1, {1: SESSIONS.migrations[1]})
    await ensure_schema(db, namespace, version_1, auto_migrate=True, where="test")
    kid = key_id(SessionKey.parse(KEY))
    old = [*entries("a"), {"type": "no-uuid"}, *entries("c")]
    # What version 1 wrote: one document per entry, uuid entries keyed by uuid.
    ids = [f"{kid}:u:a", f"{kid}:p:2", f"{kid}:u:c"]
    await db[f"{namespace}.session_entries"].insert_many(
        [
            {"_id": entry_id, "k": kid, "p": position, "j": json.dumps(entry)}
            for position, (entry_id, entry) in enumerate(zip(ids, old, strict=True), 1)
        ]
    )
    await db[f"{namespace}.session_keys"].insert_one(
        {
            "_id": kid,
            "project_key": "proj",
            "session_id": "sess",
            "subpath": "",
            "last_position": 3,
            "entry_count": 3,
            "mtime": 1,
        }
    )
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        assert await store.load(KEY) == old
        # "a" and "c" are stored as version 1 documents, "d" is new.
        await store.append(KEY, entries("a", "d", "c"))
        await store.append(KEY, entries("d", "e"))
        await store.append(KEY, entries("a", "e"))
        assert await store.load(KEY) == [*old, *entries("d", "e")]
        assert await store.count_entries(KEY) == 5
        page = await store.load_page(KEY, after=2, limit=2)
        assert [item.position for item in page.entries] == [3, 4]
        assert await store.load_tail(KEY, 3) == [old[2], *entries("d", "e")]
        await store.delete(KEY)
        assert await store.load(KEY) is None
    meta = await db[f"{namespace}.kode_meta"].find_one({"_id": "sessions"})
    assert meta is not None
    assert meta["version"] == SESSIONS.version == 2
    indexes = await db[f"{namespace}.session_entries"].index_information()
    assert {"entry_uuid", "uuid_lookup"} <= set(indexes)
    assert await db[f"{namespace}.session_entries"].count_documents({}) == 0


# -- the remembered head ---------------------------------------------------------------------


async def test_appends_from_two_stores_in_turn_never_write_from_a_stale_head(
    mongo_factory: StoreFactory,
) -> None:
    namespace = unique_namespace()
    appends = [entries("a", "b"), entries("c"), entries("d"), entries("e", "f")]
    # Separate builder maps: separate clients and remembered heads, as processes have.
    async with mongo_factory.open() as first, mongo_factory.open() as second:
        one = first.build(mongo_factory.descriptor(namespace))
        two = second.build(mongo_factory.descriptor(namespace))
        for store, batch in zip([one, two, one, one], appends, strict=True):
            await store.append(KEY, batch)
        # The second store's head is stale: a retry through it gains nothing.
        await two.append(KEY, entries("c", "f"))
        page = await two.load_page(KEY)
        assert [(item.position, item.entry) for item in page.entries] == list(
            enumerate([entry for batch in appends for entry in batch], 1)
        )
        assert await one.count_entries(KEY) == 6
    assert await summary_data(mongo_factory, namespace) == await reference_summary(
        mongo_factory, appends
    )


async def test_a_transcript_deleted_and_rewritten_elsewhere_is_not_appended_from_memory(
    mongo_factory: StoreFactory,
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as first, mongo_factory.open() as second:
        one = first.build(mongo_factory.descriptor(namespace))
        two = second.build(mongo_factory.descriptor(namespace))
        await one.append(KEY, entries("a"))
        # Same length as what the first store remembers, other entries and summary.
        await two.delete(KEY)
        await two.append(KEY, [entry("z", "a different start")])
        await one.append(KEY, entries("b"))
        assert await one.load(KEY) == [
            entry("z", "a different start"),
            *entries("b"),
        ]
        assert await two.count_entries(KEY) == 2
    assert await summary_data(mongo_factory, namespace) == await reference_summary(
        mongo_factory,
        [[entry("z", "a different start")], entries("b")],
    )


async def test_a_retried_batch_through_the_remembered_head_gains_nothing(
    mongo_factory: StoreFactory,
) -> None:
    namespace = unique_namespace()
    async with mongo_factory.open() as stores:
        store = stores.build(mongo_factory.descriptor(namespace))
        await store.append(KEY, entries("a", "b"))
        await store.append(KEY, entries("a", "b"))
        await store.append(KEY, entries("b", "c"))
        await store.append(KEY, entries("d"))
        assert await store.load(KEY) == entries("a", "b", "c", "d")
        assert await store.count_entries(KEY) == 4
    assert await summary_data(mongo_factory, namespace) == await reference_summary(
        mongo_factory, [entries("a", "b"), entries("c"), entries("d")]
    )
