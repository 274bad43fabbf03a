"""The agent-store conformance suites: subclass one and provide ``store_factory``.

Three classes follow the contract's layers; every kode backend runs the whole
contract, :class:`AgentStoreConformance`::

    import pytest
    from kode_core.testing import AgentStoreConformance, StoreFactory

    class TestSqliteAgentStore(AgentStoreConformance):
        @pytest.fixture
        def store_factory(self, tmp_path):
            return StoreFactory("sqlite", {"path": str(tmp_path / "kode.db")}, ("kode_sqlite",))

A third-party backend offering fewer layers subclasses
:class:`BaseAgentStoreConformance` or :class:`QueryableAgentStoreConformance`.
Capabilities are declared as class attributes, never guessed from the kind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from ..._builders import BuilderMap
from ..._errors import ConflictError, InvalidRecordError, SchemaVersionError
from ...agents import EventChannel, ExtendedAgentStore, ToolCallState
from .._factory import StoreFactory, unique_namespace
from .._suite_base import ConformanceSuite
from ..sessions._suite import nested
from . import samples as sample
from ._argument_checks import ArgumentChecks, EngineDump
from ._extended_checks import ExtendedChecks
from ._query_checks import QueryChecks
from ._save_checks import SaveChecks
from .samples import AGENT, SPECIAL_IDS, everything, fill


@pytest.mark.anyio
class BaseAgentStoreConformance(ConformanceSuite):
    """The ``AgentStore`` layer: runtime state, events, history, media, snapshots, lifecycle."""

    @pytest.fixture
    async def agents(
        self, store_factory: StoreFactory
    ) -> AsyncIterator[BuilderMap[ExtendedAgentStore]]:
        async with store_factory.open_agents(max_entry_bytes=65_536) as agents:
            yield agents

    @pytest.fixture
    def namespace(self) -> str:
        return unique_namespace("a")

    @pytest.fixture
    def engine_dump(self) -> EngineDump:
        """What the engine holds for the store's namespace (rows, documents, keys), for
        before/after comparisons of refused calls; every backend provides it."""
        raise NotImplementedError("backends provide the engine_dump fixture (see EngineDump)")

    @pytest.fixture
    def store(
        self, agents: BuilderMap[ExtendedAgentStore], store_factory: StoreFactory, namespace: str
    ) -> ExtendedAgentStore:
        return agents.build(store_factory.descriptor(namespace))

    # -- runtime state ----------------------------------------------------------------

    async def test_every_content_block_kind_and_unknown_fields_round_trip(
        self, store: ExtendedAgentStore
    ) -> None:
        await store.save_messages(AGENT, [sample.EVERY_BLOCK_MESSAGE])
        [loaded] = await store.load_messages(AGENT)
        assert loaded.to_dict() == sample.EVERY_BLOCK_MESSAGE
        assert [type(block).__name__ for block in loaded.content][-1] == "UnknownBlock"

    async def test_save_messages_replaces_the_whole_list(self, store: ExtendedAgentStore) -> None:
        await store.save_messages(AGENT, sample.conversation(10))
        shorter = sample.conversation(3, "new")
        await store.save_messages(AGENT, shorter)
        assert await store.load_messages(AGENT) == shorter
        await store.save_messages(AGENT, [])
        assert await store.load_messages(AGENT) == []

    async def test_an_unknown_agent_loads_empty(self, store: ExtendedAgentStore) -> None:
        assert await everything(store, "nobody") == await everything(store, "nobody-else")
        assert await store.load_messages("nobody") == []
        assert await store.load_todos("nobody") is None
        assert await store.load_info("nobody") is None
        assert not await store.exists("nobody")

    async def test_saving_one_more_message_writes_one_row(self, store: ExtendedAgentStore) -> None:
        messages = sample.conversation(1000)
        await store.save_messages(AGENT, messages)
        before = (await store.metrics()).rows_written
        await store.save_messages(AGENT, [*messages, sample.message("user", "one more")])
        assert (await store.metrics()).rows_written - before == 1
        assert len(await store.load_messages(AGENT)) == 1001

    async def test_a_kept_message_keeps_the_time_it_was_first_stored(
        self, store: ExtendedAgentStore
    ) -> None:
        first = sample.message("user", "first")
        await store.save_messages(AGENT, [first])
        [stored] = await store.query_messages(agent_id=AGENT)
        await anyio.sleep(0.05)
        await store.save_messages(AGENT, [first, sample.message("assistant", "second")])
        found = await store.query_messages(agent_id=AGENT)
        assert next(m.created_at for m in found) == stored.created_at
        assert found[1].created_at > stored.created_at

    async def test_tool_call_records_round_trip_and_are_replaced(
        self, store: ExtendedAgentStore
    ) -> None:
        calls = [
            sample.tool_call("c1", state=ToolCallState.APPROVAL_REQUIRED, approval=True),
            sample.tool_call("c2", state=ToolCallState.FAILED, is_error=True),
        ]
        await store.save_tool_call_records(AGENT, calls)
        assert await store.load_tool_call_records(AGENT) == calls
        await store.save_tool_call_records(AGENT, [calls[1], calls[0]])
        assert [c.id for c in await store.load_tool_call_records(AGENT)] == ["c2", "c1"]
        await store.save_tool_call_records(AGENT, [calls[0]])
        assert await store.load_tool_call_records(AGENT) == [calls[0]]

    async def test_todos_are_replaced(self, store: ExtendedAgentStore) -> None:
        await store.save_todos(AGENT, sample.todos(1))
        await store.save_todos(AGENT, sample.todos(2))
        assert await store.load_todos(AGENT) == sample.todos(2)

    # -- events -------------------------------------------------------------------------

    async def test_events_read_in_seq_order_across_channels(
        self, store: ExtendedAgentStore
    ) -> None:
        channels = list(EventChannel)
        order = [5, 0, 3, 1, 4, 2, 7, 6]
        for seq in order:
            await store.append_event(AGENT, sample.timeline(seq, channels[seq % 3]))
        read = [event async for event in store.read_events(AGENT)]
        assert [e.bookmark.seq for e in read] == sorted(order)
        assert read[0] == sample.timeline(0, channels[0])

    async def test_events_since_a_bookmark_and_by_channel(self, store: ExtendedAgentStore) -> None:
        channels = list(EventChannel)
        for seq in range(12):
            await store.append_event(AGENT, sample.timeline(seq, channels[seq % 3]))
        since = sample.timeline(4).bookmark
        after = [e.bookmark.seq async for e in store.read_events(AGENT, since=since)]
        assert after == list(range(5, 12))
        control = store.read_events(AGENT, since=4, channel="control")
        assert [e.bookmark.seq async for e in control] == [7, 10]

    async def test_events_are_read_in_pages(self, store: ExtendedAgentStore) -> None:
        for seq in range(250):
            await store.append_event(AGENT, sample.timeline(seq, list(EventChannel)[seq % 3]))
        seqs = [e.bookmark.seq async for e in store.read_events(AGENT, page_size=7)]
        assert seqs == list(range(250))
        monitor = [
            e.bookmark.seq async for e in store.read_events(AGENT, channel="monitor", page_size=4)
        ]
        assert monitor == list(range(2, 250, 3))

    async def test_a_read_left_early_or_read_while_events_arrive_holds_nothing_up(
        self, store: ExtendedAgentStore
    ) -> None:
        for seq in range(30):
            await store.append_event(AGENT, sample.timeline(seq))
        for _ in range(3):  # more reads left early than a small pool holds connections
            events = store.read_events(AGENT, page_size=4)
            async for event in events:
                assert event.bookmark.seq == 0
                break
            await events.aclose()  # type: ignore[attr-defined]
        seen = []
        async for event in store.read_events(AGENT, since=25, page_size=2):
            seen.append(event.bookmark.seq)
            if event.bookmark.seq == 27:
                await store.append_event(AGENT, sample.timeline(30))
        assert seen[:4] == [26, 27, 28, 29]  # the event appended meanwhile may be read too
        assert seen[4:] in ([], [30])
        assert [e.bookmark.seq async for e in store.read_events(AGENT, since=28)] == [29, 30]

    async def test_re_appending_an_event_is_a_no_op_and_a_different_body_conflicts(
        self, store: ExtendedAgentStore
    ) -> None:
        await store.append_event(AGENT, sample.timeline(1))
        await store.append_event(AGENT, sample.timeline(1))
        with pytest.raises(ConflictError):
            await store.append_event(AGENT, sample.timeline(1, payload="different"))
        assert [e async for e in store.read_events(AGENT)] == [sample.timeline(1)]

    # -- history, media, snapshots, info ----------------------------------------------------

    async def test_history_compression_and_recovered_files_load_by_timestamp(
        self, store: ExtendedAgentStore
    ) -> None:
        for window_id, when in [("w2", 20), ("w1", 10), ("w3", 30)]:
            await store.save_history_window(AGENT, sample.history_window(window_id, when))
        await store.save_history_window(AGENT, sample.history_window("w1", 10))  # upsert
        assert [w.id for w in await store.load_history_windows(AGENT)] == ["w1", "w2", "w3"]
        for record_id, when in [("c2", 5), ("c1", 1)]:
            await store.save_compression_record(AGENT, sample.compression_record(record_id, when))
        assert [c.id for c in await store.load_compression_records(AGENT)] == ["c1", "c2"]
        for path, when in [("b.py", 9), ("a.py", 8), ("b.py", 7)]:
            await store.save_recovered_file(AGENT, sample.recovered_file(path, when))
        files = await store.load_recovered_files(AGENT)
        assert [(f.path, f.timestamp) for f in files] == [
            ("b.py", sample.at(7)),
            ("a.py", sample.at(8)),
            ("b.py", sample.at(9)),
        ]

    async def test_media_cache_is_replaced_in_order(self, store: ExtendedAgentStore) -> None:
        await store.save_media_cache(AGENT, [sample.media_record("m2"), sample.media_record("m1")])
        await store.save_media_cache(AGENT, [sample.media_record("m3"), sample.media_record("m2")])
        assert [m.id for m in await store.load_media_cache(AGENT)] == ["m3", "m2"]

    async def test_snapshots_upsert_by_id_and_list_by_time(self, store: ExtendedAgentStore) -> None:
        await store.save_snapshot(AGENT, sample.snapshot("s2", 20))
        await store.save_snapshot(AGENT, sample.snapshot("s1", 10, messages=1))
        await store.save_snapshot(AGENT, sample.snapshot("s1", 10, messages=3))
        assert await store.load_snapshot(AGENT, "s1") == sample.snapshot("s1", 10, messages=3)
        assert await store.load_snapshot(AGENT, "nope") is None
        assert [s.id for s in await store.list_snapshots(AGENT)] == ["s1", "s2"]

    async def test_info_is_upserted(self, store: ExtendedAgentStore) -> None:
        await store.save_info(AGENT, sample.agent_info(AGENT, messages=1))
        await store.save_info(AGENT, sample.agent_info(AGENT, "other", messages=2))
        assert await store.load_info(AGENT) == sample.agent_info(AGENT, "other", messages=2)

    # -- lifecycle --------------------------------------------------------------------------

    async def test_delete_removes_every_family_and_leaves_others(
        self, store: ExtendedAgentStore
    ) -> None:
        await fill(store, AGENT)
        await fill(store, "other")
        kept = await everything(store, "other")
        assert await store.exists(AGENT)
        await store.delete(AGENT)
        assert not await store.exists(AGENT)
        assert await everything(store, AGENT) == await everything(store, "never-written")
        assert await store.list_agents() == ["other"]
        assert await everything(store, "other") == kept
        await store.delete(AGENT)  # deleting again is a no-op

    async def test_list_prefix_is_literal(self, store: ExtendedAgentStore) -> None:
        for agent_id in SPECIAL_IDS:
            await store.save_todos(agent_id, sample.todos())
        assert await store.list_agents() == sorted(SPECIAL_IDS)
        for prefix in ["a%", "a_", "a*", "a?", "a[", "a.*", "a\\", "b%", "%", "_", ".*"]:
            expected = sorted(i for i in SPECIAL_IDS if i.startswith(prefix))
            assert await store.list(prefix) == expected, prefix
        assert await store.list("a") == sorted(i for i in SPECIAL_IDS if i.startswith("a"))

    async def test_list_is_in_code_point_order(self, store: ExtendedAgentStore) -> None:
        ids = ["b", "B", "a-1", "a+1", "a1", "é", "z", "😀", "\uff5a", "A"]
        for agent_id in ids:
            await store.save_info(agent_id, sample.agent_info(agent_id))
        assert await store.list_agents() == sorted(ids)

    async def test_namespaces_do_not_see_each_other(
        self, agents: BuilderMap[ExtendedAgentStore], store_factory: StoreFactory
    ) -> None:
        one = agents.build(store_factory.descriptor(unique_namespace("a")))
        two = agents.build(store_factory.descriptor(unique_namespace("a")))
        await fill(one, AGENT)
        assert not await two.exists(AGENT)
        assert await two.list_agents() == []

    # -- bad input ----------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("case", "messages", "field"),
        [
            ("not_a_list", {"role": "user"}, "messages"),
            ("not_an_object", ["hello"], "messages[0]"),
            ("unknown_role", [{"role": "robot", "content": []}], "messages[0].role"),
            ("content_not_a_list", [{"role": "user", "content": "hi"}], "messages[0].content"),
            (
                "block_without_type",
                [{"role": "user", "content": [{"text": "x"}]}],
                "content[0].type",
            ),
            (
                "tool_use_without_id",
                [{"role": "assistant", "content": [{"type": "tool_use", "name": "x"}]}],
                "content[0].id",
            ),
            (
                "not_json",
                [{"role": "user", "content": [{"type": "text", "text": "x", "v": {1, 2}}]}],
                "content[0].v",
            ),
            (
                "nan",
                [{"role": "user", "content": [], "metadata": {"x": float("nan")}}],
                "metadata.x",
            ),
            (
                "oversized",
                [{"role": "user", "content": [{"type": "text", "text": "x" * 70_000}]}],
                "messages[0]",
            ),
            (
                "lone_surrogate",
                [{"role": "user", "content": [{"type": "text", "text": "a\ud800b"}]}],
                "messages[0]",
            ),
            (
                "nested_1000_deep",
                [{"role": "user", "content": [], "metadata": {"x": nested(1000)}}],
                "metadata.x",
            ),
        ],
    )
    async def test_bad_messages_are_refused_before_any_write(
        self,
        store: ExtendedAgentStore,
        engine_dump: EngineDump,
        case: str,
        messages: Any,
        field: str,
    ) -> None:
        await fill(store, AGENT)
        before, raw = await everything(store, AGENT), await engine_dump(store)
        with pytest.raises(InvalidRecordError) as raised:
            await store.save_messages(AGENT, messages)
        assert field in str(raised.value), case
        assert await everything(store, AGENT) == before
        assert await engine_dump(store) == raw

    @pytest.mark.parametrize(
        ("case", "call"),
        [
            (
                "unknown_state",
                lambda s: s.save_tool_call_records(AGENT, [{**_call(), "state": "DONE"}]),
            ),
            ("duplicate_ids", lambda s: s.save_tool_call_records(AGENT, [_call(), _call()])),
            (
                "unknown_channel",
                lambda s: s.append_event(
                    AGENT, {**_event(), "event": {"channel": "x", "type": "t"}}
                ),
            ),
            (
                "seq_over_64_bits",
                lambda s: s.append_event(
                    AGENT, {**_event(), "bookmark": {"seq": 2**64, "timestamp": 0}}
                ),
            ),
            (
                "negative_seq",
                lambda s: s.append_event(
                    AGENT, {**_event(), "bookmark": {"seq": -1, "timestamp": 0}}
                ),
            ),
            (
                "naive_time",
                lambda s: s.save_todos(
                    AGENT, {"todos": [], "version": 1, "updated_at": "2026-01-01T00:00:00"}
                ),
            ),
            (
                "wrong_type",
                lambda s: s.save_todos(AGENT, {"todos": [], "version": "1", "updated_at": 0}),
            ),
            (
                "info_of_another_agent",
                lambda s: s.save_info(AGENT, sample.agent_info("someone-else")),
            ),
            ("media_not_a_list", lambda s: s.save_media_cache(AGENT, sample.media_record("m"))),
            (
                "snapshot_not_json",
                lambda s: s.save_snapshot(
                    AGENT, {**sample.snapshot("s", 1).to_dict(), "metadata": {"f": object()}}
                ),
            ),
            ("empty_agent_id", lambda s: s.save_todos("", sample.todos())),
            ("agent_id_not_a_string", lambda s: s.save_todos(7, sample.todos())),
            ("agent_id_with_nul", lambda s: s.save_todos("a\x00b", sample.todos())),
            ("agent_id_with_a_lone_surrogate", lambda s: s.save_todos("a\ud800b", sample.todos())),
        ],
    )
    async def test_bad_records_are_refused_before_any_write(
        self, store: ExtendedAgentStore, engine_dump: EngineDump, case: str, call: Any
    ) -> None:
        await fill(store, AGENT)
        before, raw = await everything(store, AGENT), await engine_dump(store)
        agents_before = await store.list_agents()
        with pytest.raises(InvalidRecordError):
            await call(store)
        assert await everything(store, AGENT) == before, case
        assert await store.list_agents() == agents_before
        assert await engine_dump(store) == raw

    async def test_bad_read_arguments_are_refused(self, store: ExtendedAgentStore) -> None:
        with pytest.raises(InvalidRecordError, match="channel"):
            store.read_events(AGENT, channel="nope")
        with pytest.raises(InvalidRecordError, match="page_size"):
            store.read_events(AGENT, page_size=0)
        with pytest.raises(InvalidRecordError, match="prefix"):
            await store.list_agents(3)  # type: ignore[arg-type]
        with pytest.raises(InvalidRecordError, match="prefix"):
            await store.list_agents("a\ud800")

    # -- schema -------------------------------------------------------------------------------

    async def test_migrate_prepares_a_namespace_for_stores_that_may_not(
        self, store_factory: StoreFactory
    ) -> None:
        namespace = unique_namespace("a")
        async with store_factory.open_agents(auto_migrate=False) as agents:
            strict = agents.build(store_factory.descriptor(namespace))
            if self.versioned_storage:
                with pytest.raises(SchemaVersionError):
                    await strict.save_todos(AGENT, sample.todos())
            await strict.migrate()
            await strict.migrate()
            await strict.save_todos(AGENT, sample.todos())
            assert await strict.load_todos(AGENT) == sample.todos()


def _call() -> dict[str, Any]:
    return sample.tool_call("c1").to_dict()


def _event() -> dict[str, Any]:
    return sample.timeline(1).to_dict()


@pytest.mark.anyio
class QueryableAgentStoreConformance(QueryChecks, BaseAgentStoreConformance):
    """The ``QueryableAgentStore`` layer on top of the base layer."""


@pytest.mark.anyio
class AgentStoreConformance(
    ArgumentChecks, ExtendedChecks, SaveChecks, QueryableAgentStoreConformance
):
    """The whole agent-store contract: every kode backend runs this class."""
