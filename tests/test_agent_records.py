"""Agent-store records: strict decoding with a field path, unknown keys kept, times in UTC."""

from datetime import datetime, timedelta, timezone

import pytest

from kode_core import InvalidRecordError
from kode_core.agents import (
    Message,
    MessageRow,
    Role,
    StoredRowState,
    TextBlock,
    ToolCallRecord,
    UnknownBlock,
    plan_replace,
)
from kode_core.agents._queries import MessageQuery, SessionQuery, parse_query


def test_unknown_keys_and_block_types_round_trip() -> None:
    data = {
        "role": "user",
        "content": [{"type": "text", "text": "hi", "cache": {"ttl": 5}}, {"type": "new", "x": [1]}],
        "later": True,
    }
    message = Message.from_dict(data)
    assert isinstance(message.content[1], UnknownBlock)
    assert message.content[0].extra == {"cache": {"ttl": 5}}
    assert message.to_dict() == data


def test_records_built_in_code_equal_their_decoded_form() -> None:
    built = Message(role=Role.USER, content=[TextBlock(text="hi")])
    assert Message.coerce(built) == built
    assert Message.from_dict(built.to_dict()) == built
    assert built.to_dict() == {"role": "user", "content": [{"text": "hi", "type": "text"}]}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"role": "user"}, "Message.content"),
        ({"role": 1, "content": []}, "Message.role"),
        (
            {"role": "user", "content": [{"type": "tool_use", "id": 3, "name": "n"}]},
            "content[0].id",
        ),
        ({"role": "user", "content": [], "metadata": {"k": {1, 2}}}, "metadata.k"),
        ({"role": "user", "content": [], "x": float("inf")}, "Message"),
    ],
)
def test_errors_name_the_path_at_fault(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        Message.from_dict(data)
    assert field in raised.value.field


def test_times_accept_aware_datetimes_iso_strings_and_epoch_ms() -> None:
    base = {"id": "c", "name": "n", "state": "PENDING"}
    moment = datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    for value in (moment, "2026-05-01T10:00:00Z", 1777629600000):
        record = ToolCallRecord.from_dict({**base, "created_at": value, "updated_at": value})
        assert record.created_at == moment
        assert record.created_at.tzinfo == timezone.utc
    with pytest.raises(InvalidRecordError, match="timezone-aware"):
        ToolCallRecord.from_dict({**base, "created_at": datetime(2026, 1, 1), "updated_at": 0})


def _row(position: int, text: str, created: int) -> MessageRow:
    return MessageRow(position, text, text, "user", ("text",), created)


def test_plan_replace_writes_only_what_changed_and_keeps_first_stored_times() -> None:
    existing = {0: StoredRowState("a", 1), 1: StoredRowState("b", 2), 2: StoredRowState("c", 3)}
    plan = plan_replace(existing, [_row(0, "a", 9), _row(1, "c", 9)])
    assert plan.upserts == [_row(1, "c", 3)]  # "c" was stored before: it keeps time 3
    assert plan.deletes == [2]
    assert plan.write_count == 2
    assert (
        plan_replace(existing, [_row(0, "a", 9), _row(1, "b", 9), _row(2, "c", 9)]).write_count == 0
    )


def test_queries_accept_both_name_sets_and_default_to_100() -> None:
    code = parse_query(MessageQuery, {"agentId": "a", "startDate": 0, "sortOrder": "desc"})
    guide = parse_query(MessageQuery, {"agent_id": "a", "created_after": 0, "order": "DESC"})
    assert code == guide
    assert code.limit == 100
    assert code.descending
    with pytest.raises(InvalidRecordError, match="'role'"):
        parse_query(SessionQuery, {"role": "user"})


def test_a_record_built_in_code_is_checked_and_a_checked_one_passes_through() -> None:
    bad = Message(role="robot", content=[])  # type: ignore[arg-type]
    with pytest.raises(InvalidRecordError, match="role"):
        Message.coerce(bad)
    checked = Message.coerce({"role": "user", "content": []})
    assert Message.coerce(checked) is checked
    assert Message.coerce(Message.from_json(checked.to_json())) == checked


@pytest.mark.anyio
async def test_a_loaded_record_changed_in_place_to_non_json_is_refused() -> None:
    import kode_core

    async with kode_core.create_store({"kind": "memory"}) as store:
        await store.save_messages("a", [{"role": "user", "content": [], "metadata": {"k": 1}}])
        [loaded] = await store.load_messages("a")
        assert loaded.metadata is not None
        loaded.metadata["k"] = {1, 2}  # type: ignore[index]
        with pytest.raises(InvalidRecordError, match=r"messages\[0\]"):
            await store.save_messages("a", [loaded])
        [again] = await store.load_messages("a")
        assert again.metadata == {"k": 1}


def test_a_canonical_record_built_in_code_is_remembered_a_non_canonical_one_is_replaced() -> None:
    built = Message(role=Role.USER, content=[TextBlock(text="hi")])
    assert Message.coerce(built) is built
    plain_role = Message(role="assistant", content=[TextBlock(text="hi")])  # type: ignore[arg-type]
    coerced = Message.coerce(plain_role)
    assert coerced is not plain_role
    assert coerced.role is Role.ASSISTANT
    local = datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    call = ToolCallRecord(id="c", name="n", state="PENDING", created_at=local, updated_at=local)  # type: ignore[arg-type]
    checked = ToolCallRecord.coerce(call)
    assert checked is not call
    assert checked.created_at.tzinfo == timezone.utc
    assert checked.to_dict()["created_at"] == "2026-05-01T10:00:00+00:00"


@pytest.mark.anyio
async def test_a_message_built_with_a_plain_string_role_is_saved_with_that_role() -> None:
    import kode_core

    async with kode_core.create_store({"kind": "memory"}) as store:
        message = Message(role="assistant", content=[TextBlock(text="hi")])  # type: ignore[arg-type]
        await store.save_messages("a", [message])
        [loaded] = await store.load_messages("a")
        assert loaded.role is Role.ASSISTANT
        assert loaded.content == (TextBlock(text="hi"),)
