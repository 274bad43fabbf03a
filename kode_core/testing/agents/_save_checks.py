"""Conformance checks of saving a conversation again (mixed into the suites).

A store writes only the messages that changed since it last saved the agent's list,
and re-encodes only the message objects it has not seen at their position. These
checks catch that shortcut storing a stale value: a message changed in place, a
list another store wrote in between, an agent deleted and saved again.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from ..._builders import BuilderMap
from ...agents import ExtendedAgentStore, Message, Role, ToolUseBlock
from .._factory import StoreFactory
from . import samples as sample
from .samples import AGENT


def _tool_message(tag: str) -> Message:
    block = ToolUseBlock(id=f"call-{tag}", name="lookup", input={"nested": {"x": 1}, "items": [1]})
    return Message(role=Role.ASSISTANT, content=(block,), metadata={"tag": tag})


def _dicts(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.to_dict() for m in messages]


@pytest.mark.anyio
class SaveChecks:
    """Saving the same list again, changed in place, or after another writer."""

    async def test_a_message_changed_in_place_is_stored_changed(
        self, store: ExtendedAgentStore
    ) -> None:
        messages = [*sample.conversation(3), _tool_message("a"), _tool_message("b")]
        await store.save_messages(AGENT, messages)
        tool = messages[3].content[0]
        assert isinstance(tool, ToolUseBlock)
        tool.input["nested"]["x"] = 2  # a dict inside a dict inside the message's block
        await store.save_messages(AGENT, messages)
        assert _dicts(await store.load_messages(AGENT)) == _dicts(messages)
        messages[4].metadata["tag"] = "changed"  # type: ignore[index]
        tool.input["items"].append(3)
        await store.save_messages(AGENT, [*messages, sample.message("user", "one more")])
        loaded = await store.load_messages(AGENT)
        assert loaded[3].content[0].input == {"nested": {"x": 2}, "items": [1, 3]}  # type: ignore[union-attr]
        assert loaded[4].metadata == {"tag": "changed"}
        assert _dicts(loaded[:5]) == _dicts(messages)

    async def test_a_message_given_as_a_mapping_changed_in_place_is_stored_changed(
        self, store: ExtendedAgentStore
    ) -> None:
        messages = _dicts([*sample.conversation(2), _tool_message("a")])
        await store.save_messages(AGENT, messages)
        messages[2]["content"][0]["input"]["nested"]["x"] = 5
        messages[0]["content"][0]["text"] = "edited"
        await store.save_messages(AGENT, messages)
        assert _dicts(await store.load_messages(AGENT)) == messages

    async def test_what_is_stored_is_the_saved_record_as_it_is(
        self, store: ExtendedAgentStore
    ) -> None:
        metadata: dict[str, Any] = {"tag": "first"}
        message = Message(role=Role.USER, content=(), metadata=metadata)
        await store.save_messages(AGENT, [message])
        metadata["tag"] = "changed after the save"
        await store.save_messages(AGENT, [message, sample.message("user", "more")])
        [first, _] = await store.load_messages(AGENT)
        assert first == message  # the record's own value, whatever the caller holds

    async def test_a_list_another_store_wrote_in_between_is_replaced_whole(
        self, agents: BuilderMap[ExtendedAgentStore], store_factory: StoreFactory, namespace: str
    ) -> None:
        mine = agents.build(store_factory.descriptor(namespace))
        other = agents.build(store_factory.descriptor(namespace))
        messages = sample.conversation(10)
        await mine.save_messages(AGENT, messages)
        theirs = [*messages]
        theirs[4] = sample.message("user", "written by another store")
        await other.save_messages(AGENT, theirs)
        more = [*messages, sample.message("user", "one more")]
        await mine.save_messages(AGENT, more)
        assert await other.load_messages(AGENT) == more

        await other.delete(AGENT)
        await other.save_messages(AGENT, sample.conversation(12, "again"))
        await mine.save_messages(AGENT, [*more, sample.message("user", "and another")])
        assert await other.load_messages(AGENT) == [*more, sample.message("user", "and another")]

    async def test_saves_racing_through_two_stores_leave_one_whole_list(
        self, agents: BuilderMap[ExtendedAgentStore], store_factory: StoreFactory, namespace: str
    ) -> None:
        stores = [agents.build(store_factory.descriptor(namespace)) for _ in range(2)]
        lists = [sample.conversation(30, f"writer{w}") for w in range(4)]
        for messages in lists:
            await stores[0].save_messages(AGENT, messages[:20])

        async def grow(store: ExtendedAgentStore, messages: list[Message]) -> None:
            for n in range(20, 31):
                await store.save_messages(AGENT, messages[:n])

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tasks:
                for w, messages in enumerate(lists):
                    tasks.start_soon(grow, stores[w % 2], messages)
        stored = await stores[0].load_messages(AGENT)
        assert stored in lists  # one writer's whole last list, never a mix
        [last] = [messages for messages in lists if messages == stored]
        await stores[1].save_messages(AGENT, last[:5])
        await stores[0].save_messages(AGENT, [*last[:5], sample.message("user", "end")])
        assert await stores[1].load_messages(AGENT) == [*last[:5], sample.message("user", "end")]
