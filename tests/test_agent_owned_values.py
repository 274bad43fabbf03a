"""The owned JSON values that let an agent store keep a message's encoding."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from kode_core.agents import Message, Role, ToolUseBlock
from kode_core.agents._owned import OwnedDict, OwnedList, changes, own


def _message() -> Message:
    block = ToolUseBlock(id="a", name="b", input={"x": [1, {"y": 2}]})
    return Message(role=Role.USER, content=(block,), metadata={"k": [1]})


def test_owning_copies_every_nested_value_without_counting_a_change() -> None:
    message = _message()
    before, text = changes(), message.to_json()
    assert own(message) is message
    assert changes() == before
    assert message.to_json() == text
    assert type(message.metadata) is OwnedDict
    tool = message.content[0]
    assert isinstance(tool, ToolUseBlock)
    assert type(tool.input["x"]) is OwnedList
    assert type(tool.input["x"][1]) is OwnedDict


DICT_CHANGES: list[Callable[[dict[str, Any]], object]] = [
    lambda d: d.__setitem__("n", 1),
    lambda d: d.__delitem__("k"),
    lambda d: d.update(n=1),
    lambda d: d.pop("k"),
    lambda d: d.popitem(),
    lambda d: d.setdefault("n", 1),
    lambda d: d.clear(),
    lambda d: d.__ior__({"n": 1}),
]
LIST_CHANGES: list[Callable[[list[Any]], object]] = [
    lambda v: v.__setitem__(0, 2),
    lambda v: v.__delitem__(0),
    lambda v: v.append(2),
    lambda v: v.extend([2]),
    lambda v: v.insert(0, 2),
    lambda v: v.pop(),
    lambda v: v.remove(1),
    lambda v: v.clear(),
    lambda v: v.sort(),
    lambda v: v.reverse(),
    lambda v: v.__iadd__([2]),
    lambda v: v.__imul__(2),
]


@pytest.mark.parametrize("change", DICT_CHANGES)
def test_every_change_of_an_owned_dict_is_counted(change: Callable[[Any], object]) -> None:
    value = OwnedDict({"k": 1})
    before = changes()
    change(value)
    assert changes() > before


@pytest.mark.parametrize("change", LIST_CHANGES)
def test_every_change_of_an_owned_list_is_counted(change: Callable[[Any], object]) -> None:
    value = OwnedList([1])
    before = changes()
    change(value)
    assert changes() > before


def test_owned_values_compare_print_encode_and_copy_as_plain_ones() -> None:
    message = own(_message())
    assert message.metadata == {"k": [1]}
    assert repr(message.metadata) == "{'k': [1]}"
    assert json.dumps(message.metadata) == '{"k": [1]}'
    assert pickle.loads(pickle.dumps(message)) == message
    assert copy.deepcopy(message) == message
    assert Message.from_json(message.to_json()) == message
