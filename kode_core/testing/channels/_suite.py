"""The channel-store conformance suite: subclass it and provide ``store_factory``::

class TestSqliteChannelStore(ChannelStoreConformance):
    @pytest.fixture
    def store_factory(self, sqlite_factory):
        return sqlite_factory
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from ..._builders import BuilderMap
from ..._errors import InvalidRecordError, NotFoundError
from ...channels import CHANNELS, Channel, ChannelStore
from .._factory import StoreFactory, unique_namespace
from .._suite_base import ConformanceSuite
from ..agents._processes import start, wait_for_file
from ..sessions._suite import nested

#: Ids that trip up LIKE patterns, globs, key separators and quoting.
ODD_IDS = ["a%b", "a_b", "a*b", "a:b", "a{b}", "a b", "é✓", "a'b", 'a"b', "a\\b"]
#: What the bad-input test tries to store: (call, field the error names).
BAD_CALLS: list[tuple[str, Callable[[ChannelStore], Awaitable[Any]], str]] = [
    ("empty id", lambda s: s.add_channel("", "n"), "channel_id"),
    ("long id", lambda s: s.add_channel("x" * 257, "n"), "channel_id"),
    ("NUL in id", lambda s: s.add_channel("a\x00b", "n"), "channel_id"),
    ("int id", lambda s: s.add_channel(1, "n"), "channel_id"),  # type: ignore[arg-type]
    ("surrogate name", lambda s: s.add_channel("c9", "\ud800"), "channel_name"),
    ("list opening data", lambda s: s.add_channel("c9", "n", [1]), "opening_data"),  # type: ignore[arg-type]
    ("NaN opening data", lambda s: s.add_channel("c9", "n", {"x": float("nan")}), "opening_data"),
    ("set in data", lambda s: s.add_channel("c9", "n", {"x": {1}}), "opening_data"),
    ("huge data", lambda s: s.add_channel("c9", "n", {"x": "y" * 70_000}), "opening_data"),
    ("deep data", lambda s: s.add_channel("c9", "n", {"x": nested(300)}), "opening_data"),
    ("ids as string", lambda s: s.remove_channels("c1"), "channel_ids"),
    ("bad id in list", lambda s: s.remove_channels(["c1", ""]), "channel_ids[1]"),
    ("int user id", lambda s: s.set_user_id("c1", 5), "user_id"),  # type: ignore[arg-type]
    ("state not object", lambda s: s.set_state("c1", "x"), "state"),  # type: ignore[arg-type]
    ("surrogate state", lambda s: s.set_state("c1", {"k": "\udfff"}), "state"),
    ("empty topic", lambda s: s.subscribe("", "c1"), "topic"),
    ("bad channel", lambda s: s.subscribe("t", None), "channel_id"),  # type: ignore[arg-type]
    ("bad unsubscribe", lambda s: s.unsubscribe("t", ""), "channel_id"),
]


async def snapshot(store: ChannelStore, channel_ids: list[str], topics: list[str]) -> Any:
    """Everything stored about these channels and topics, for before/after comparisons."""
    channels: dict[str, Channel | None] = {}
    for channel_id in channel_ids:
        try:
            channels[channel_id] = await store.get_channel(channel_id)
        except NotFoundError:
            channels[channel_id] = None
    return (
        channels,
        {c: await store.get_state(c) for c in channel_ids},
        {c: await store.topics_for_channel(c) for c in channel_ids},
        {t: await store.channel_ids_for_topic(t) for t in topics},
    )


@pytest.mark.anyio
class ChannelStoreConformance(ConformanceSuite):
    """The ``ChannelStore`` contract: channels, their state and their topic subscriptions."""

    @pytest.fixture
    async def channels(
        self, store_factory: StoreFactory
    ) -> AsyncIterator[BuilderMap[ChannelStore]]:
        async with store_factory.open_family(CHANNELS, max_data_bytes=65_536) as channels:
            yield channels

    @pytest.fixture
    def namespace(self) -> str:
        return unique_namespace("c")

    @pytest.fixture
    def store(
        self, channels: BuilderMap[ChannelStore], store_factory: StoreFactory, namespace: str
    ) -> ChannelStore:
        return channels.build(store_factory.descriptor(namespace))

    # -- channels -------------------------------------------------------------------------

    async def test_a_channel_round_trips_with_its_opening_data(self, store: ChannelStore) -> None:
        data = {"query": {"room": "lobby"}, "n": [1, 2.5, None, True], "text": "é✓"}
        await store.add_channel("c1", "chat", data)
        await store.add_channel("c2", "chat")
        assert await store.get_channel("c1") == Channel("c1", "chat", data, None)
        assert await store.get_channel("c2") == Channel("c2", "chat", {}, None)

    async def test_an_unknown_channel_is_not_found_by_name(self, store: ChannelStore) -> None:
        with pytest.raises(NotFoundError) as caught:
            await store.get_channel("nobody")
        assert caught.value.context == {"channel_id": "nobody"}
        with pytest.raises(NotFoundError):
            await store.set_user_id("nobody", "u1")
        with pytest.raises(NotFoundError):
            await store.set_state("nobody", {"a": 1})
        assert await store.get_state("nobody") is None
        await store.clear_state("nobody")
        await store.remove_channels(["nobody"])

    async def test_odd_ids_are_kept_apart(self, store: ChannelStore) -> None:
        for channel_id in ODD_IDS:
            await store.add_channel(channel_id, f"name {channel_id}", {"id": channel_id})
            await store.subscribe(f"topic {channel_id}", channel_id)
        for channel_id in ODD_IDS:
            assert (await store.get_channel(channel_id)).opening_data == {"id": channel_id}
            assert await store.channel_ids_for_topic(f"topic {channel_id}") == [channel_id]
            assert await store.topics_for_channel(channel_id) == [f"topic {channel_id}"]

    async def test_the_longest_ids_of_four_byte_characters_are_stored(
        self, store: ChannelStore
    ) -> None:
        channel_id, topic = "\U0001d11e" * 256, "\U0001f600" * 256
        await store.add_channel(channel_id, channel_id)
        await store.subscribe(topic, channel_id)
        assert (await store.get_channel(channel_id)).channel_name == channel_id
        assert await store.channel_ids_for_topic(topic) == [channel_id]
        assert await store.topics_for_channel(channel_id) == [topic]

    async def test_adding_again_replaces_name_and_data_and_keeps_the_rest(
        self, store: ChannelStore
    ) -> None:
        await store.add_channel("c1", "old", {"v": 1})
        await store.set_user_id("c1", "u1")
        await store.set_state("c1", {"s": 1})
        await store.subscribe("t", "c1")
        await store.add_channel("c1", "new", {"v": 2})
        assert await store.get_channel("c1") == Channel("c1", "new", {"v": 2}, "u1")
        assert await store.get_state("c1") == {"s": 1}
        assert await store.topics_for_channel("c1") == ["t"]

    async def test_the_user_id_is_set_and_cleared(self, store: ChannelStore) -> None:
        await store.add_channel("c1", "chat")
        await store.set_user_id("c1", "user-7")
        assert (await store.get_channel("c1")).user_id == "user-7"
        await store.set_user_id("c1", None)
        assert (await store.get_channel("c1")).user_id is None

    async def test_state_is_none_until_set_then_replaced_then_cleared(
        self, store: ChannelStore
    ) -> None:
        await store.add_channel("c1", "chat")
        assert await store.get_state("c1") is None
        await store.set_state("c1", {"step": 1, "items": ["a"]})
        await store.set_state("c1", {"step": 2})
        assert await store.get_state("c1") == {"step": 2}
        await store.clear_state("c1")
        assert await store.get_state("c1") is None
        assert (await store.get_channel("c1")).channel_name == "chat"

    async def test_namespaces_do_not_see_each_other(
        self, channels: BuilderMap[ChannelStore], store_factory: StoreFactory, store: ChannelStore
    ) -> None:
        other = channels.build(store_factory.descriptor(unique_namespace("c")))
        await store.add_channel("c1", "chat")
        await store.subscribe("t", "c1")
        with pytest.raises(NotFoundError):
            await other.get_channel("c1")
        assert await other.channel_ids_for_topic("t") == []

    # -- event hub ------------------------------------------------------------------------

    async def test_subscriptions_are_indexed_both_ways_and_sorted(
        self, store: ChannelStore
    ) -> None:
        for channel_id in ("c3", "c1", "c2"):
            await store.add_channel(channel_id, "chat")
        for topic, channel_id in [("b", "c3"), ("b", "c1"), ("a", "c1"), ("c", "c2")]:
            assert await store.subscribe(topic, channel_id) is True
        assert await store.channel_ids_for_topic("b") == ["c1", "c3"]
        assert await store.topics_for_channel("c1") == ["a", "b"]
        assert await store.topics_for_channel("c2") == ["c"]
        assert await store.channel_ids_for_topic("unknown") == []
        assert await store.topics_for_channel("unknown") == []

    async def test_subscribe_is_idempotent_and_unsubscribe_says_if_it_existed(
        self, store: ChannelStore
    ) -> None:
        await store.add_channel("c1", "chat")
        assert await store.subscribe("t", "c1") is True
        assert await store.subscribe("t", "c1") is True
        assert await store.channel_ids_for_topic("t") == ["c1"]
        assert await store.unsubscribe("t", "c1") is True
        assert await store.unsubscribe("t", "c1") is False
        assert await store.unsubscribe("t", "nobody") is False
        assert await store.channel_ids_for_topic("t") == []
        assert await store.topics_for_channel("c1") == []

    async def test_subscribing_an_unknown_channel_is_refused_and_stores_nothing(
        self, store: ChannelStore
    ) -> None:
        with pytest.raises(NotFoundError):
            await store.subscribe("t", "ghost")
        assert await store.channel_ids_for_topic("t") == []
        assert await store.topics_for_channel("ghost") == []

    async def test_removing_channels_removes_their_subscriptions_and_state(
        self, store: ChannelStore
    ) -> None:
        for channel_id in ("c1", "c2", "c3"):
            await store.add_channel(channel_id, "chat")
            await store.set_state(channel_id, {"id": channel_id})
            await store.subscribe("all", channel_id)
            await store.subscribe(f"own-{channel_id}", channel_id)
        await store.remove_channels([])
        await store.remove_channels(["c1", "c3", "c1", "never-added"])
        assert await store.channel_ids_for_topic("all") == ["c2"]
        assert await store.channel_ids_for_topic("own-c1") == []
        assert await store.channel_ids_for_topic("own-c3") == []
        assert await store.topics_for_channel("c1") == []
        assert await store.get_state("c1") is None
        with pytest.raises(NotFoundError):
            await store.get_channel("c3")
        assert await store.topics_for_channel("c2") == ["all", "own-c2"]
        assert await store.get_state("c2") == {"id": "c2"}
        # A channel added again under a removed id starts with no subscriptions.
        await store.add_channel("c1", "chat")
        assert await store.topics_for_channel("c1") == []

    async def test_racing_subscribers_and_a_removal_leave_no_dangling_subscription(
        self, store: ChannelStore
    ) -> None:
        topics = [f"t{i}" for i in range(40)]
        for round_ in range(3):
            channel_id = f"racer{round_}"
            await store.add_channel(channel_id, "chat")

            async def subscribe_all(part: list[str], channel_id: str = channel_id) -> None:
                for topic in part:
                    with contextlib.suppress(NotFoundError):  # the removal won
                        await store.subscribe(topic, channel_id)
                    await anyio.lowlevel.checkpoint()

            async def remove(channel_id: str = channel_id) -> None:
                await anyio.sleep(0.001)
                await store.remove_channels([channel_id])

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tasks:
                    for part in (topics[::2], topics[1::2]):
                        tasks.start_soon(subscribe_all, part)
                    tasks.start_soon(remove)
            await assert_no_subscription_of(store, channel_id, topics)

    async def test_a_removal_in_another_process_leaves_no_dangling_subscription(
        self, store_factory: StoreFactory, store: ChannelStore, tmp_path: Path
    ) -> None:
        self.needs_processes()
        topics = [f"t{i}" for i in range(200)]
        await store.add_channel("racer", "chat")
        worker = start(subscribe_in_process, store_factory, store.namespace, topics, str(tmp_path))
        try:
            await wait_for_file(tmp_path / "started")
            await store.remove_channels(["racer"])
            with anyio.fail_after(60):
                while worker.is_alive():
                    await anyio.sleep(0.05)
            assert worker.exitcode == 0
        finally:
            worker.kill()
        await assert_no_subscription_of(store, "racer", topics)

    # -- bad input ------------------------------------------------------------------------

    @pytest.mark.parametrize(("case", "call", "field"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
    async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
        self,
        store: ChannelStore,
        case: str,
        call: Callable[[ChannelStore], Awaitable[Any]],
        field: str,
    ) -> None:
        await store.add_channel("c1", "chat", {"v": 1})
        await store.set_state("c1", {"s": 1})
        await store.subscribe("t", "c1")
        before = await snapshot(store, ["c1", "c9"], ["t"])
        with pytest.raises(InvalidRecordError) as caught:
            await call(store)
        assert caught.value.field == field, case
        assert await snapshot(store, ["c1", "c9"], ["t"]) == before


async def assert_no_subscription_of(
    store: ChannelStore, channel_id: str, topics: list[str]
) -> None:
    """Fail if ``channel_id`` (removed) is left in either index."""
    assert await store.topics_for_channel(channel_id) == []
    for topic in topics:
        assert channel_id not in await store.channel_ids_for_topic(topic), topic


def subscribe_in_process(
    factory: StoreFactory, namespace: str, topics: list[str], signal_dir: str
) -> None:
    """Run in another process: subscribe ``racer`` to each topic until it is removed."""

    async def main() -> None:
        async with factory.open_family(CHANNELS) as channels:
            store = channels.build(factory.descriptor(namespace))
            await store.subscribe(topics[0], "racer")
            Path(signal_dir, "started").touch()
            for topic in topics[1:]:
                try:
                    await store.subscribe(topic, "racer")
                except NotFoundError:
                    return

    anyio.run(main)
