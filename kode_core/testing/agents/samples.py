"""Realistic agent-store records for the conformance kit and the benchmarks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ...agents import (
    AgentEvent,
    AgentInfo,
    Bookmark,
    CompressionRecord,
    EventChannel,
    HistoryWindow,
    MediaCacheRecord,
    Message,
    RecoveredFile,
    Role,
    Snapshot,
    TextBlock,
    Timeline,
    TodoItem,
    TodoSnapshot,
    ToolCallApproval,
    ToolCallRecord,
    ToolCallState,
    ToolUseBlock,
)

if TYPE_CHECKING:
    from ...agents import ExtendedAgentStore

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    """A fixed UTC time ``seconds`` after 2026-01-01, so tests do not depend on the clock."""
    return EPOCH + timedelta(seconds=seconds)


#: One message of every content-block kind, plus an unknown block and unknown fields.
EVERY_BLOCK_MESSAGE: dict[str, Any] = {
    "role": "assistant",
    "content": [
        {"type": "text", "text": 'héllo — 你好 — 🚀 \u2028 "q" \\'},
        {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}},
        {"type": "tool_use", "id": "toolu_1", "name": "bash_run", "input": {"cmd": "ls -la"}},
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a\nb", "is_error": False},
        {"type": "reasoning", "reasoning": "list the folder first", "meta": {"tokens": 12}},
        {"type": "image", "base64": "aGk=", "mime_type": "image/png"},
        {"type": "audio", "url": "https://example.invalid/a.mp3", "mime_type": "audio/mpeg"},
        {"type": "video", "file_id": "file-video-1"},
        {"type": "file", "file_id": "file-1", "mime_type": "application/pdf", "name": "x.pdf"},
        {"type": "citation_v9", "cited": [1, 2], "nested": {"deep": {"x": None}}},
    ],
    "metadata": {"model": "m-1", "usage": {"input_tokens": 10, "output_tokens": 3}},
    "future_field": {"kept": True},
}


def message(role: str, text: str) -> Message:
    """A one-block text message."""
    return Message(role=Role(role), content=(TextBlock(text=text),))


def conversation(count: int, tag: str = "m") -> list[Message]:
    """``count`` alternating user/assistant messages, every fifth assistant one a tool call."""
    messages = []
    for i in range(count):
        if i % 2 == 0:
            messages.append(message("user", f"{tag}-{i}: please look at file {i}.py"))
        elif i % 10 == 9:
            call = ToolUseBlock(id=f"{tag}-call-{i}", name="read_file", input={"path": f"{i}.py"})
            messages.append(Message(role=Role.ASSISTANT, content=(call,)))
        else:
            messages.append(message("assistant", f"{tag}-{i}: here is what I found."))
    return messages


def tool_call(
    call_id: str,
    name: str = "bash_run",
    state: ToolCallState = ToolCallState.COMPLETED,
    *,
    created: float = 0,
    is_error: bool | None = None,
    approval: bool = False,
) -> ToolCallRecord:
    """A tool-call record with a two-step audit trail."""
    return ToolCallRecord(
        id=call_id,
        name=name,
        state=state,
        input={"cmd": "ls"},
        approval=ToolCallApproval(required=approval, decision="allow" if approval else None),
        result={"stdout": "ok"} if state is ToolCallState.COMPLETED else None,
        is_error=is_error,
        created_at=at(created),
        updated_at=at(created + 1),
        duration_ms=12.5,
        audit_trail=(),
    )


def todos(version: int = 1) -> TodoSnapshot:
    """A todo list with two items."""
    items = tuple(
        TodoItem(
            id=f"t{i}", title=f"task {i}", status="pending", created_at=at(i), updated_at=at(i)
        )
        for i in range(2)
    )
    return TodoSnapshot(todos=items, version=version, updated_at=at(version))


def timeline(
    seq: int, channel: EventChannel | str = EventChannel.PROGRESS, **payload: Any
) -> Timeline:
    """The timeline entry at ``seq`` on ``channel``."""
    event = AgentEvent(
        channel=EventChannel(channel), type="text_chunk", extra={"delta": f"e{seq}", **payload}
    )
    return Timeline(cursor=seq, bookmark=Bookmark(seq=seq, timestamp=at(seq)), event=event)


def history_window(window_id: str, when: float) -> HistoryWindow:
    return HistoryWindow(
        id=window_id, timestamp=at(when), messages=tuple(conversation(2, window_id)), stats={"n": 2}
    )


def compression_record(record_id: str, when: float) -> CompressionRecord:
    return CompressionRecord(
        id=record_id, timestamp=at(when), window_id="w1", summary="short", ratio=0.25
    )


def recovered_file(path: str, when: float) -> RecoveredFile:
    return RecoveredFile(path=path, content=f"contents of {path}", timestamp=at(when))


def media_record(record_id: str) -> MediaCacheRecord:
    return MediaCacheRecord(
        id=record_id, mime_type="image/png", provider="p", file_id=f"f-{record_id}"
    )


def snapshot(snapshot_id: str, when: float, messages: int = 2) -> Snapshot:
    return Snapshot(
        id=snapshot_id,
        messages=tuple(conversation(messages, snapshot_id)),
        last_sfp_index=messages - 1,
        last_bookmark=Bookmark(seq=messages, timestamp=at(when)),
        created_at=at(when),
    )


def agent_info(
    agent_id: str, template_id: str = "assistant", *, created: float = 0, messages: int = 0
) -> AgentInfo:
    return AgentInfo(
        agent_id=agent_id,
        template_id=template_id,
        created_at=at(created),
        message_count=messages,
        metadata={"owner": "kit"},
    )


AGENT = "agent-1"
#: Agent ids whose characters are patterns in SQL LIKE, GLOB, regexes or Redis SCAN.
SPECIAL_IDS = ["a%b", "a_b", "a*b", "a?b", "a[b]", "a.*b", "a\\b", "ab", "aXb", "a", "b%"]


async def everything(store: ExtendedAgentStore, agent_id: str) -> dict[str, Any]:
    """Every family of an agent's stored data, for before/after comparisons."""
    return {
        "messages": await store.load_messages(agent_id),
        "tool_calls": await store.load_tool_call_records(agent_id),
        "todos": await store.load_todos(agent_id),
        "events": [event async for event in store.read_events(agent_id)],
        "history": await store.load_history_windows(agent_id),
        "compression": await store.load_compression_records(agent_id),
        "recovered": await store.load_recovered_files(agent_id),
        "media": await store.load_media_cache(agent_id),
        "snapshots": await store.list_snapshots(agent_id),
        "info": await store.load_info(agent_id),
    }


async def fill(store: ExtendedAgentStore, agent_id: str) -> None:
    """Write something into every record family of ``agent_id``."""
    await store.save_messages(agent_id, [*conversation(4, agent_id), EVERY_BLOCK_MESSAGE])
    await store.save_tool_call_records(agent_id, [tool_call("c1"), tool_call("c2")])
    await store.save_todos(agent_id, todos())
    for seq in range(3):
        await store.append_event(agent_id, timeline(seq, list(EventChannel)[seq]))
    await store.save_history_window(agent_id, history_window("w1", 1))
    await store.save_compression_record(agent_id, compression_record("c1", 2))
    await store.save_recovered_file(agent_id, recovered_file("src/a.py", 3))
    await store.save_media_cache(agent_id, [media_record("m1")])
    await store.save_snapshot(agent_id, snapshot("s1", 4))
    await store.save_info(agent_id, agent_info(agent_id, messages=5))
