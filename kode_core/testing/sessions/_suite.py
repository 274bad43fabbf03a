"""The session-store conformance suite: subclass it and provide ``store_factory``.

Example, a backend's whole conformance test module::

    import pytest
    from kode_core.testing import SessionStoreConformance, StoreFactory

    class TestSqliteSessionStore(SessionStoreConformance):
        @pytest.fixture
        def store_factory(self, tmp_path):
            return StoreFactory("sqlite", {"path": str(tmp_path / "kode.db")}, ("kode_sqlite",))

Capabilities are declared as class attributes, never guessed from the kind.
"""

from __future__ import annotations

import datetime
import enum
import math
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, ClassVar

import anyio
import anyio.to_process
import pytest

from ..._builders import BuilderMap
from ..._errors import InvalidEntryError, InvalidKeyError, SchemaVersionError
from ...sessions import SessionStore
from .._factory import (
    StoreFactory,
    process_writer,
    unique_namespace,
    write_batches,
    writer_batches,
)
from .._suite_base import ConformanceSuite
from ._operator_checks import SessionStoreOperatorChecks

#: The SessionStore methods the Claude Agent SDK treats as optional.
SDK_OPTIONAL_METHODS = ("delete", "list_session_summaries", "list_sessions", "list_subkeys")

KEY = {"project_key": "proj", "session_id": "sess"}
SUB = {**KEY, "subpath": "subagents/agent-1"}

AWKWARD: dict[str, Any] = {
    "type": "assistant",
    "uuid": "awkward-1",
    "text": 'héllo wörld — 你好 — 🚀 — \u2028 \t\n"quoted" \\ back',
    "nested": {"a": {"b": {"c": [1, [2, [3, {"d": None}]]]}}},
    "big": 2**70,
    "negative_big": -(2**64) - 1,
    "int64_max": 2**63 - 1,
    "floats": [0.1, -0.0, 1e308, 5e-324, 1.5, 123456789.123456789],
    "null": None,
    "bools": [True, False],
    "empty": {"list": [], "dict": {}, "string": ""},
    "dotted.key": {"a.b.c": 1},
    "$dollar": {"$set": {"$inc": 1}, "$": "$"},
    "": "empty key",
    "nul_in_text": "a\u0000b",
}


def nested(depth: int) -> Any:
    """A JSON list nested ``depth`` levels deep."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


class _Colour(enum.Enum):
    RED = "red"


BAD_ENTRIES: dict[str, Any] = {
    "not_an_object": ["a", "list"],
    "no_type": {"uuid": "u"},
    "type_not_a_string": {"type": 7},
    "uuid_not_a_string": {"type": "x", "uuid": 12},
    "not_json_encodable": {"type": "x", "value": {1, 2}},
    "nan_is_not_json": {"type": "x", "value": float("nan")},
    "infinity_is_not_json": {"type": "x", "value": [1.0, float("-inf")]},
    # JSON libraries that encode these (as a string, a value) would store another type
    "a_uuid_object_is_not_json": {"type": "x", "id": uuid.UUID(int=7)},
    "an_enum_member_is_not_json": {"type": "x", "colour": _Colour.RED},
    "a_datetime_is_not_json": {"type": "x", "at": datetime.datetime(2026, 12, 6)},
    "over_the_size_limit": {"type": "x", "blob": "x" * 70_000},
    "lone_surrogate_in_a_value": {"type": "x", "text": "a\ud800b"},
    "lone_surrogate_in_the_uuid": {"type": "x", "uuid": "u\udfff"},
    "nested_1000_deep": {"type": "x", "deep": nested(1000)},
}

BAD_KEYS: dict[str, Any] = {
    "missing_project_key": {"session_id": "s"},
    "empty_session_id": {"project_key": "p", "session_id": ""},
    "project_key_not_a_string": {"project_key": 3, "session_id": "s"},
    "empty_subpath": {"project_key": "p", "session_id": "s", "subpath": ""},
    "not_a_mapping": "proj/sess",
    "lone_surrogate_in_project_key": {"project_key": "a\ud800b", "session_id": "s"},
    "lone_surrogate_in_session_id": {"project_key": "p", "session_id": "\udc00"},
    "lone_surrogate_in_subpath": {"project_key": "p", "session_id": "s", "subpath": "x\ud800"},
}


def counting_fold(prev: Any, key: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A summary fold that counts folded entries: shows exactly what was folded."""
    count = prev["data"]["count"] if prev else 0
    mtime = prev["mtime"] if prev else 0
    data = {"count": count + len(entries)}
    return {"session_id": key["session_id"], "mtime": mtime, "data": data}


@pytest.mark.anyio
class SessionStoreConformance(SessionStoreOperatorChecks, ConformanceSuite):
    """The ``SessionStore`` contract, beyond the Claude Agent SDK's 14 checks."""

    #: Size of the long-session test.
    long_session_entries: ClassVar[int] = 20_000
    #: Number of sessions in the many-sessions listing test.
    many_sessions: ClassVar[int] = 2_000

    @pytest.fixture
    async def stores(self, store_factory: StoreFactory) -> AsyncIterator[BuilderMap[SessionStore]]:
        async with store_factory.open(max_entry_bytes=65_536) as stores:
            yield stores

    @pytest.fixture
    def new_store(
        self, stores: BuilderMap[SessionStore], store_factory: StoreFactory
    ) -> Callable[[], SessionStore]:
        return lambda: stores.build(store_factory.descriptor(unique_namespace()))

    @pytest.fixture
    def store(self, new_store: Callable[[], SessionStore]) -> SessionStore:
        return new_store()

    # -- the SDK's own suite --------------------------------------------------------

    async def test_claude_agent_sdk_conformance_suite_passes(
        self, new_store: Callable[[], SessionStore]
    ) -> None:
        testing = pytest.importorskip("claude_agent_sdk.testing")
        sdk_types = pytest.importorskip("claude_agent_sdk.types")
        # The suite skips the contract of an optional method the store does not
        # override; kode stores implement all of them, so every contract must run.
        store_type = type(new_store())
        not_overridden = [
            name
            for name in SDK_OPTIONAL_METHODS
            if getattr(store_type, name, None) in (None, getattr(sdk_types.SessionStore, name))
        ]
        assert not_overridden == [], "the SDK suite would skip these optional methods"
        await testing.run_session_store_conformance(new_store)

    # -- append and load --------------------------------------------------------------

    async def test_load_returns_appended_entries_in_call_order(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "a", "uuid": "2"}, {"type": "b", "uuid": "1"}])
        await store.append(KEY, [{"type": "c"}])
        assert await store.load(KEY) == [
            {"type": "a", "uuid": "2"},
            {"type": "b", "uuid": "1"},
            {"type": "c"},
        ]

    async def test_load_of_a_key_never_written_is_none(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "a"}])
        assert await store.load({**KEY, "session_id": "other"}) is None
        assert await store.load(SUB) is None

    async def test_empty_batch_writes_nothing(self, store: SessionStore) -> None:
        await store.append(KEY, [])
        assert await store.load(KEY) is None
        assert await store.list_sessions("proj") == []

    async def test_a_stored_uuid_is_skipped_in_later_batches(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "a", "uuid": "u1"}, {"type": "a", "uuid": "u2"}])
        await store.append(KEY, [{"type": "b", "uuid": "u2"}, {"type": "b", "uuid": "u3"}])
        loaded = await store.load(KEY)
        assert loaded is not None
        assert [(e["type"], e["uuid"]) for e in loaded] == [("a", "u1"), ("a", "u2"), ("b", "u3")]

    async def test_a_uuid_repeated_within_one_batch_is_stored_once(
        self, store: SessionStore
    ) -> None:
        await store.append(KEY, [{"type": "a", "uuid": "u"}, {"type": "b", "uuid": "u"}])
        assert await store.load(KEY) == [{"type": "a", "uuid": "u"}]

    async def test_entries_without_uuid_are_always_appended(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "title", "t": 1}])
        await store.append(KEY, [{"type": "title", "t": 1}])
        assert await store.load(KEY) == [{"type": "title", "t": 1}] * 2

    async def test_the_same_uuid_under_another_key_is_stored(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "a", "uuid": "u"}])
        await store.append(SUB, [{"type": "a", "uuid": "u"}])
        await store.append({**KEY, "project_key": "p2"}, [{"type": "a", "uuid": "u"}])
        assert await store.count_entries(SUB) == 1
        assert await store.count_entries({**KEY, "project_key": "p2"}) == 1

    async def test_awkward_json_round_trips_deep_equal(self, store: SessionStore) -> None:
        await store.append(KEY, [AWKWARD])
        loaded = await store.load(KEY)
        assert loaded == [AWKWARD]
        assert loaded is not None
        assert isinstance(loaded[0]["big"], int)
        assert math.copysign(1.0, loaded[0]["floats"][1]) == -1.0

    async def test_stored_entries_do_not_alias_the_callers_objects(
        self, store: SessionStore
    ) -> None:
        entry: dict[str, Any] = {"type": "a", "items": [1]}
        await store.append(KEY, [entry])
        entry["items"].append(2)
        assert await store.load(KEY) == [{"type": "a", "items": [1]}]

    async def test_order_holds_across_many_appends(self, store: SessionStore) -> None:
        expected = []
        for i in range(300):
            batch = [{"type": "t", "uuid": f"u{i}-{j}", "i": i, "j": j} for j in range(i % 3 + 1)]
            expected += batch
            await store.append(KEY, batch)
        assert await store.load(KEY) == expected

    # -- bad input: a clear error and nothing stored ------------------------------------

    @pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
    async def test_a_bad_entry_rejects_the_whole_batch_naming_its_index(
        self, store: SessionStore, case: str
    ) -> None:
        await store.append(KEY, [{"type": "before", "uuid": "b0"}])
        batch = [{"type": "ok", "uuid": "k1"}, {"type": "ok"}, BAD_ENTRIES[case], {"type": "ok"}]
        with pytest.raises(InvalidEntryError, match="index 2") as caught:
            await store.append(KEY, batch)
        assert caught.value.index == 2
        assert await store.load(KEY) == [{"type": "before", "uuid": "b0"}]
        assert await store.load({**KEY, "session_id": "new"}) is None
        await store.append({**KEY, "session_id": "new"}, batch[:2])
        assert await store.count_entries({**KEY, "session_id": "new"}) == 2

    async def test_a_batch_that_is_not_a_list_is_refused(self, store: SessionStore) -> None:
        with pytest.raises(InvalidEntryError, match="list"):
            await store.append(KEY, "not a list")  # type: ignore[arg-type]
        assert await store.load(KEY) is None

    @pytest.mark.parametrize("case", sorted(BAD_KEYS))
    async def test_a_bad_key_is_refused_before_any_write(
        self, store: SessionStore, case: str
    ) -> None:
        with pytest.raises(InvalidKeyError):
            await store.append(BAD_KEYS[case], [{"type": "a"}])
        with pytest.raises(InvalidKeyError):
            await store.load(BAD_KEYS[case])
        assert await store.list_sessions("p") == []

    async def test_list_subkeys_refuses_a_key_with_subpath(self, store: SessionStore) -> None:
        with pytest.raises(InvalidKeyError, match="subpath"):
            await store.list_subkeys(SUB)

    # -- many writers -------------------------------------------------------------------

    async def test_concurrent_tasks_store_each_uuid_once_in_writer_order(
        self, store: SessionStore
    ) -> None:
        writers = {f"task{w}": writer_batches(f"task{w}", 25, 40) for w in range(8)}
        async with anyio.create_task_group() as tg:
            for batches in writers.values():
                tg.start_soon(write_batches, store, KEY, batches)
        _assert_writers_stored_once(await store.load(KEY), writers, shared=40)

    async def test_concurrent_processes_and_tasks_store_each_uuid_once(
        self, store: SessionStore, store_factory: StoreFactory, tmp_path: Path
    ) -> None:
        self.needs_processes()
        tasks = {f"task{w}": writer_batches(f"task{w}", 25, 40) for w in range(8)}
        procs = {f"proc{w}": writer_batches(f"proc{w}", 25, 40) for w in range(2)}
        await store.count_entries(KEY)  # migrate first, so all writers race on appends only

        async def run_process(name: str) -> None:
            await anyio.to_process.run_sync(
                process_writer,
                store_factory,
                store.namespace,
                KEY,
                procs[name],
                str(tmp_path),
                name,
                cancellable=True,
            )

        async with anyio.create_task_group() as tg:
            for name in procs:
                tg.start_soon(run_process, name)
            with anyio.fail_after(90):
                while len(list(tmp_path.glob("ready-*"))) < len(procs):
                    await anyio.sleep(0.01)
            (tmp_path / "go").touch()
            for batches in tasks.values():
                tg.start_soon(write_batches, store, KEY, batches)
        _assert_writers_stored_once(await store.load(KEY), {**tasks, **procs}, shared=40)

    # -- paging, tail, count, listing -------------------------------------------------

    async def test_pages_cover_the_transcript_in_order(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "t", "uuid": f"u{i}", "i": i} for i in range(25)])
        seen: list[int] = []
        after, pages = 0, 0
        while True:
            page = await store.load_page(KEY, after=after, limit=10)
            seen += [stored.entry["i"] for stored in page.entries]
            positions = [stored.position for stored in page.entries]
            assert positions == sorted(positions)
            assert all(p > after for p in positions)
            next_after, pages = page.next_after, pages + 1
            if next_after is None:
                break
            after = next_after
        assert seen == list(range(25))
        assert pages == 3

    async def test_tail_returns_the_last_entries_oldest_first(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "t", "i": i} for i in range(10)])
        assert [e["i"] for e in await store.load_tail(KEY, 3)] == [7, 8, 9]
        assert len(await store.load_tail(KEY, 50)) == 10
        assert await store.load_tail(KEY, 0) == []
        assert await store.load_tail({**KEY, "session_id": "none"}, 5) == []

    async def test_count_entries_counts_stored_entries_only(self, store: SessionStore) -> None:
        assert await store.count_entries(KEY) == 0
        await store.append(KEY, [{"type": "t", "uuid": "a"}, {"type": "t"}])
        await store.append(KEY, [{"type": "t", "uuid": "a"}])
        assert await store.count_entries(KEY) == 2
        assert await store.count_entries(SUB) == 0

    async def test_sessions_are_listed_in_pages_by_id(self, store: SessionStore) -> None:
        ids = [f"s{i:03d}" for i in range(23)]
        for session_id in reversed(ids):
            await store.append({"project_key": "proj", "session_id": session_id}, [{"type": "t"}])
        await store.append({**KEY, "session_id": "s000", "subpath": "x"}, [{"type": "t"}])
        assert await _session_ids_page_by_page(store, "proj", limit=10) == ids

    async def test_listings_follow_code_point_order_whatever_the_ids_hold(
        self, store: SessionStore
    ) -> None:
        # Case, digits, punctuation that range syntaxes treat specially, and characters
        # beyond the BMP, whose UTF-16 order differs from their code point order.
        ids = ["B", "a", "Z", "é", "_x", "10", "9", "+", "-", "(a", "[b", "a(", "z\u0001"]
        ids += ["\U0001f680", "\uffff"]
        for session_id in ids:
            await store.append({"project_key": "p", "session_id": session_id}, [{"type": "t"}])
            subkey = {"project_key": "p", "session_id": "a", "subpath": f"sub/{session_id}"}
            await store.append(subkey, [{"type": "t"}])
        assert await _session_ids_page_by_page(store, "p", limit=4) == sorted(ids)
        assert sorted(s["session_id"] for s in await store.list_sessions("p")) == sorted(ids)
        subkeys = await store.list_subkeys({"project_key": "p", "session_id": "a"})
        assert subkeys == sorted(f"sub/{i}" for i in ids)

    async def test_mtime_is_epoch_ms_and_moves_forward(self, store: SessionStore) -> None:
        await store.append(KEY, [{"type": "t"}])
        [first] = await store.list_sessions("proj")
        await anyio.sleep(0.01)
        await store.append(KEY, [{"type": "t"}])
        [second] = await store.list_sessions("proj")
        assert first["mtime"] > 1e12
        assert second["mtime"] > first["mtime"]

    async def test_summary_folds_only_newly_stored_entries(
        self, store_factory: StoreFactory
    ) -> None:
        async with store_factory.open(summary_fold=counting_fold) as stores:
            store = stores.build(store_factory.descriptor(unique_namespace()))
            batch = [{"type": "t", "uuid": "a"}, {"type": "t", "uuid": "b"}]
            await store.append(KEY, batch)
            await store.append(KEY, batch)  # a retried batch: nothing new to fold
            await store.append(KEY, [{"type": "t", "uuid": "c"}, {"type": "t"}])
            await store.append(SUB, [{"type": "t", "uuid": "s"}])
            [summary] = await store.list_session_summaries("proj")
            [listing] = await store.list_sessions("proj")
        assert summary["data"] == {"count": 4}
        assert summary["mtime"] == listing["mtime"]

    async def test_stored_summaries_are_read_whatever_fold_the_reader_has(
        self, store_factory: StoreFactory
    ) -> None:
        if not self.versioned_storage:
            pytest.skip("an in-process engine's data does not outlive its builder map")
        namespace = unique_namespace()
        async with store_factory.open(summary_fold=counting_fold) as stores:
            await stores.build(store_factory.descriptor(namespace)).append(KEY, [{"type": "t"}])

        def other_fold(prev: Any, key: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
            raise AssertionError("reading summaries folds nothing")

        async with store_factory.open(summary_fold=other_fold) as stores:
            reader = stores.build(store_factory.descriptor(namespace))
            [summary] = await reader.list_session_summaries("proj")
        assert summary["data"] == {"count": 1}

    # -- namespaces ---------------------------------------------------------------------

    async def test_namespaces_isolate_data_on_one_backend(
        self, stores: BuilderMap[SessionStore], store_factory: StoreFactory
    ) -> None:
        one = stores.build(store_factory.descriptor(unique_namespace("a")))
        two = stores.build(store_factory.descriptor(unique_namespace("b")))
        await one.append(KEY, [{"type": "t", "uuid": "u"}])
        await one.append(SUB, [{"type": "t"}])
        assert len(stores.open_backends) == 1
        assert await two.load(KEY) is None
        assert await two.count_entries(KEY) == 0
        assert await two.list_sessions("proj") == []
        assert await two.list_subkeys(KEY) == []
        await two.append(KEY, [{"type": "t", "uuid": "u", "two": True}])
        assert await one.load(KEY) == [{"type": "t", "uuid": "u"}]
        await two.delete(KEY)
        assert await one.count_entries(SUB) == 1

    # -- schema -------------------------------------------------------------------------

    async def test_migrate_prepares_a_namespace_for_stores_that_may_not(
        self, store_factory: StoreFactory
    ) -> None:
        descriptor = store_factory.descriptor(unique_namespace())
        if self.versioned_storage:
            async with store_factory.open(auto_migrate=False) as app:
                with pytest.raises(SchemaVersionError):
                    await app.build(descriptor).count_entries(KEY)
        async with store_factory.open(auto_migrate=False) as pipeline:
            deployer = pipeline.build(descriptor)
            await deployer.migrate()
            await deployer.migrate()  # idempotent
        async with store_factory.open(auto_migrate=False) as app:
            store = app.build(descriptor)
            await store.append(KEY, [{"type": "t", "uuid": "u"}])
            assert await store.load(KEY) == [{"type": "t", "uuid": "u"}]

    # -- size ---------------------------------------------------------------------------

    async def test_a_long_session_is_appended_and_read_in_pages(self, store: SessionStore) -> None:
        total, batch_size = self.long_session_entries, 500
        for start in range(0, total, batch_size):
            batch = [
                {"type": "t", "uuid": f"u{i}", "i": i} for i in range(start, start + batch_size)
            ]
            await store.append(KEY, batch)
        await store.append(KEY, [{"type": "t", "uuid": "last", "i": total}])
        count, expected = 0, 0
        async for stored in store.iter_entries(KEY, page_size=2_000):
            assert stored.entry["i"] == expected
            count, expected = count + 1, expected + 1
        assert count == total + 1
        loaded = await store.load(KEY)  # more entries than one page of load's reads
        assert loaded is not None
        assert [e["i"] for e in loaded] == list(range(total + 1))
        assert await store.count_entries(KEY) == total + 1
        assert [e["i"] for e in await store.load_tail(KEY, 2)] == [total - 1, total]

    async def test_list_sessions_returns_every_session_of_a_project(
        self, store: SessionStore
    ) -> None:
        async def write(first: int) -> None:
            for i in range(first, self.many_sessions, 8):
                await store.append({"project_key": "big", "session_id": f"s{i}"}, [{"type": "t"}])

        async with anyio.create_task_group() as tg:
            for first in range(8):
                tg.start_soon(write, first)
        listed = await store.list_sessions("big")
        assert len(listed) == self.many_sessions
        assert {s["session_id"] for s in listed} == {f"s{i}" for i in range(self.many_sessions)}


async def _session_ids_page_by_page(store: SessionStore, project_key: str, limit: int) -> list[str]:
    listed: list[str] = []
    after: str | None = None
    while True:
        page = await store.list_sessions_page(project_key, after=after, limit=limit)
        listed += [s.session_id for s in page.sessions]
        if page.next_after is None:
            return listed
        after = page.next_after


def _assert_writers_stored_once(
    loaded: list[dict[str, Any]] | None, writers: dict[str, list[list[dict[str, Any]]]], shared: int
) -> None:
    assert loaded is not None
    uuids = [entry["uuid"] for entry in loaded]
    assert len(uuids) == len(set(uuids)), "a uuid was stored twice"
    assert sorted(e["n"] for e in loaded if e["type"] == "shared") == list(range(shared))
    for writer, batches in writers.items():
        own = [e["seq"] for e in loaded if e.get("writer") == writer]
        assert own == list(range(len(batches))), f"{writer}'s entries missing or out of order"
