"""Reading back what a store wrote: ``Record.from_stored`` builds what ``from_json`` builds."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from kode_core import InvalidRecordError
from kode_core._record_codec import (
    INT,
    NO_EXTRA,
    Record,
    extra_field,
    field,
    stored_reader,
)
from kode_core.agents import (
    AgentInfo,
    AuditEntry,
    Bookmark,
    EventChannel,
    MediaBlock,
    MediaKind,
    Message,
    Role,
    Snapshot,
    Timeline,
    ToolCallApproval,
    ToolCallRecord,
    ToolCallState,
    UnknownBlock,
)
from kode_core.testing.agents import samples

LOCAL = timezone(timedelta(hours=-7, minutes=-30))


def _tool_call_with_everything() -> ToolCallRecord:
    return ToolCallRecord(
        id="c9",
        name="bash_run",
        state=ToolCallState.FAILED,
        created_at=datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=LOCAL),
        updated_at=samples.at(5.25),
        input={"argv": ["ls", "-la"], "env": {"A": [1, 2.5, None, True, {"deep": [[{}]]}]}},
        approval=ToolCallApproval(
            required=True, decision="deny", decided_by="ana", decided_at=samples.at(2), note="no"
        ),
        result=[{"stdout": ""}, 3],
        error="boom",
        is_error=True,
        started_at=samples.at(1),
        completed_at=samples.at(2),
        duration_ms=0,
        audit_trail=tuple(
            AuditEntry(state=state, timestamp=samples.at(i), note=f"step {i}")
            for i, state in enumerate(ToolCallState)
        ),
        extra={"future": {"kept": [1, "x"]}},
    )


#: Every sample record, and records reaching every field kind, enum value and block kind.
RECORDS: list[Record] = [
    *samples.conversation(12, "conv"),
    Message.coerce(samples.EVERY_BLOCK_MESSAGE),
    Message.coerce({"role": "system", "content": []}),
    Message.coerce(
        {
            "role": "user",
            "content": [{"type": "image", "url": "u", "file_id": "f", "base64": "b"}],
            "metadata": {"nested": {"a": [{"b": None}]}},
            "extra": "a key named extra",
        }
    ),
    samples.tool_call("c1"),
    samples.tool_call("c2", state=ToolCallState.APPROVAL_REQUIRED, is_error=False, approval=True),
    _tool_call_with_everything(),
    samples.todos(3),
    samples.timeline(7, EventChannel.CONTROL, nested={"x": [1, {"y": None}]}, n=1.5),
    *(samples.timeline(seq, channel) for seq, channel in enumerate(EventChannel)),
    samples.history_window("w1", 1),
    samples.compression_record("c1", 2),
    samples.recovered_file("src/a.py", 3),
    samples.media_record("m1"),
    samples.snapshot("s1", 4, messages=5),
    samples.agent_info("a1", messages=5),
    AgentInfo(
        agent_id="a2",
        template_id="t",
        created_at=samples.at(0),
        lineage=("a0", "a1"),
        last_bookmark=Bookmark(seq=3, timestamp=samples.at(3), extra={"k": 1}),
        breakpoint="PRE_MODEL",
        metadata={},
    ),
]


def _stored(record: Record) -> tuple[type[Record], str]:
    """What a store writes: the checked record's compact JSON."""
    cls = type(record)
    return cls, cls.coerce(record).to_json()


def _shape(value: Any) -> Any:
    """``value`` with every record's type and every time's UTC offset made visible."""
    if isinstance(value, Record):
        items = {a.name: _shape(getattr(value, a.name)) for a in attrs.fields(type(value))}
        return (type(value), items)
    if isinstance(value, datetime):
        return (value, value.utcoffset())
    if isinstance(value, (tuple, list)):
        return (type(value), [_shape(item) for item in value])
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return (type(value), value)


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: type(record).__name__)
def test_a_stored_record_reads_back_equal_to_the_validating_decode(record: Record) -> None:
    cls, text = _stored(record)
    fast, strict = cls.from_stored(text), cls.from_json(text)
    assert fast == strict
    assert _shape(fast) == _shape(strict)
    assert fast.to_json() == text


def test_every_block_kind_reads_back_as_its_own_class_with_unknown_keys_in_extra() -> None:
    _, text = _stored(Message.coerce(samples.EVERY_BLOCK_MESSAGE))
    message = Message.from_stored(text)
    kinds = [type(block).__name__ for block in message.content]
    assert kinds == [
        "TextBlock",
        "ImageUrlBlock",
        "ToolUseBlock",
        "ToolResultBlock",
        "ReasoningBlock",
        *["MediaBlock"] * 4,
        "UnknownBlock",
    ]
    assert isinstance(message.content[5], MediaBlock)
    assert message.content[5].type is MediaKind.IMAGE
    unknown = message.content[-1]
    assert isinstance(unknown, UnknownBlock)
    assert unknown.extra == {"cited": [1, 2], "nested": {"deep": {"x": None}}}
    assert message.content[4].extra == {"meta": {"tokens": 12}}
    assert message.extra == {"future_field": {"kept": True}}
    assert message.role is Role.ASSISTANT


def test_defaults_fill_fields_an_older_writer_left_out() -> None:
    times = '"created_at":0,"updated_at":"2026-01-01T00:00:00Z"'
    text = f'{{"id":"c","name":"n","state":"PENDING",{times}}}'
    for stored in (text, text.replace("0,", '"2026-01-01T00:00:00+00:00",')):
        fast = ToolCallRecord.from_stored(stored)
        assert fast == ToolCallRecord.from_json(stored)
        assert fast.approval == ToolCallApproval()
        assert fast.audit_trail == ()
        assert fast.created_at.tzinfo is timezone.utc


def test_a_time_stored_with_another_offset_reads_back_in_utc() -> None:
    text = '{"seq":1,"timestamp":"2026-01-01T02:00:00.000123+02:00"}'
    fast = Bookmark.from_stored(text)
    assert fast == Bookmark.from_json(text)
    assert fast.timestamp.tzinfo is timezone.utc
    assert fast.timestamp.hour == 0


@pytest.mark.parametrize(
    ("cls", "text", "field"),
    [
        (Message, '{"role":"robot","content":[]}', "Message.role"),
        (Message, '{"role":"user"}', "Message.content"),
        (Timeline, '{"cursor":1,"bookmark":{"seq":1},"event":{}}', "bookmark.timestamp"),
        (Snapshot, "[]", "Snapshot"),
        (Bookmark, '{"seq":1,"timestamp":"2026-01-01T00:00:00"}', "Bookmark.timestamp"),
    ],
)
def test_text_kode_did_not_write_falls_back_to_the_validating_error(
    cls: type[Record], text: str, field: str
) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        cls.from_stored(text)
    assert field in raised.value.field


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: type(record).__name__)
def test_a_record_read_back_passes_coerce_without_a_second_check(
    record: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls, text = _stored(record)
    fast = cls.from_stored(text)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("checked again")

    monkeypatch.setattr(cls, "from_dict", refuse)
    assert cls.coerce(fast) is fast


def test_a_record_read_back_equal_but_not_itself_is_checked_again() -> None:
    record = Message.from_stored('{"role":"user","content":[]}')
    copy = attrs.evolve(record)
    with pytest.raises(InvalidRecordError, match="role"):
        Message.coerce(attrs.evolve(copy, role="robot"))
    assert Message.coerce(copy) == record


@attrs.frozen(kw_only=True)
class _Positive(Record):
    n: int = field(INT, validator=attrs.validators.gt(0))
    extra: dict[str, Any] = extra_field()


def test_a_record_with_validators_is_read_back_through_its_init() -> None:
    assert stored_reader(_Positive)({"n": 2, "x": 1}) == _Positive(n=2, extra={"x": 1})
    with pytest.raises(ValueError, match="n"):
        stored_reader(_Positive)({"n": 0})


def test_records_read_back_without_unknown_keys_share_one_empty_extra() -> None:
    # A read keeps no empty dict per record; the shared mapping must still behave as
    # one: equal to {}, read-only, and pickled or copied with the record.
    written = samples.timeline(3, "progress")
    first, second = (Timeline.from_stored(written.to_json()) for _ in range(2))
    assert first.extra is second.extra is first.bookmark.extra is NO_EXTRA
    assert first == written == Timeline.from_json(written.to_json())
    assert first.extra == {}
    assert dict(first.extra) == {}
    assert not first.extra
    with pytest.raises(TypeError):
        first.extra["x"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(first)) == first
    assert copy.deepcopy(first) == first
    assert copy.deepcopy(first).extra is NO_EXTRA
    assert first.to_json() == written.to_json()
    # Unknown keys still come back as the record's own dict.
    assert Timeline.from_stored(written.to_json()[:-1] + ',"new":1}').extra == {"new": 1}
