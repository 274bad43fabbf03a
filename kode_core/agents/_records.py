"""Records of the agent runtime store (the KODE SDK's data model, Pythonic names).

All times are timezone-aware UTC ``datetime`` values (ISO-8601 in JSON; epoch
milliseconds and ISO strings are accepted on the way in). Every record keeps
keys it does not know in ``extra``, and content blocks of a type it does not
know become :class:`UnknownBlock`, so both round-trip unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._errors import InvalidRecordError
from .._record_codec import (
    BOOL,
    INT,
    JSON,
    NUMBER,
    OBJECT,
    STR,
    TIME,
    Codec,
    Record,
    choice,
    const,
    extra_field,
    field,
    list_of,
    non_negative,
    optional,
    plain,
    record,
    stored_reader,
)

_OPT_STR = optional(STR)
_OPT_TIME = optional(TIME)


class Role(str, enum.Enum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class ToolCallState(str, enum.Enum):
    """Where a tool call is in its life."""

    PENDING = "PENDING"
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
    APPROVED = "APPROVED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    DENIED = "DENIED"
    SEALED = "SEALED"


class EventChannel(str, enum.Enum):
    """The timeline channel an event is published on."""

    PROGRESS = "progress"
    CONTROL = "control"
    MONITOR = "monitor"


class MediaKind(str, enum.Enum):
    """The kinds of media content block."""

    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"


# -- content blocks ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TextBlock(Record):
    """Plain text."""

    text: str = field(STR)
    type: str = field(const("text"), default="text")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ImageUrlBlock(Record):
    """An image by URL (``image_url`` is the provider's object or string)."""

    image_url: Any = field(JSON)
    type: str = field(const("image_url"), default="image_url")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ToolUseBlock(Record):
    """The model asks for a tool call."""

    id: str = field(STR)
    name: str = field(STR)
    input: Any = field(JSON, default=None)
    type: str = field(const("tool_use"), default="tool_use")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ToolResultBlock(Record):
    """The result of a tool call, answering ``tool_use_id``."""

    tool_use_id: str = field(STR)
    content: Any = field(JSON, default=None)
    is_error: bool | None = field(optional(BOOL), default=None)
    type: str = field(const("tool_result"), default="tool_result")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ReasoningBlock(Record):
    """The model's reasoning text."""

    reasoning: str = field(STR)
    type: str = field(const("reasoning"), default="reasoning")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class MediaBlock(Record):
    """An image, audio, video or file by URL, provider file id or inline base64."""

    type: MediaKind = field(choice(MediaKind))
    url: str | None = field(_OPT_STR, default=None)
    file_id: str | None = field(_OPT_STR, default=None)
    base64: str | None = field(_OPT_STR, default=None)
    mime_type: str | None = field(_OPT_STR, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class UnknownBlock(Record):
    """A block of a type kode does not know: ``type`` plus every other key in ``extra``."""

    type: str = field(STR)
    extra: Mapping[str, Any] = extra_field()


ContentBlock = (
    TextBlock | ImageUrlBlock | ToolUseBlock | ToolResultBlock | ReasoningBlock | MediaBlock
) | UnknownBlock

_BLOCKS: dict[str, type[Record]] = {
    "text": TextBlock,
    "image_url": ImageUrlBlock,
    "tool_use": ToolUseBlock,
    "tool_result": ToolResultBlock,
    "reasoning": ReasoningBlock,
    **{kind.value: MediaBlock for kind in MediaKind},
}


def _decode_block(value: Any, path: str) -> Any:
    data = value.to_dict() if isinstance(value, Record) else value
    if not isinstance(data, Mapping):
        raise InvalidRecordError(path, f"must be a content block object, got {type(data).__name__}")
    block_type = data.get("type")
    if not isinstance(block_type, str):
        raise InvalidRecordError(f"{path}.type", "must be a string")
    return _BLOCKS.get(block_type, UnknownBlock).from_dict(data, path)


_STORED_BLOCKS = {block_type: stored_reader(cls) for block_type, cls in _BLOCKS.items()}
_STORED_UNKNOWN = stored_reader(UnknownBlock)


def _stored_block(data: dict[str, Any]) -> Record:
    return _STORED_BLOCKS.get(data["type"], _STORED_UNKNOWN)(data)


BLOCK = Codec(
    _decode_block,
    lambda value: value.to_dict() if isinstance(value, Record) else value,
    _stored_block,
)


# -- runtime state ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Message(Record):
    """One conversation message."""

    role: Role = field(choice(Role))
    content: tuple[ContentBlock, ...] = field(list_of(BLOCK), converter=tuple)
    metadata: Mapping[str, Any] | None = field(optional(OBJECT), default=None)
    extra: Mapping[str, Any] = extra_field()

    @property
    def content_types(self) -> tuple[str, ...]:
        """The distinct block types of the content, in first-seen order."""
        return tuple(dict.fromkeys(plain(block.type) for block in self.content))


@attrs.frozen(kw_only=True)
class ToolCallApproval(Record):
    """Whether a tool call needs a person's approval, and what they decided."""

    required: bool = field(BOOL, default=False)
    decision: str | None = field(_OPT_STR, default=None)
    decided_by: str | None = field(_OPT_STR, default=None)
    decided_at: datetime | None = field(_OPT_TIME, default=None)
    note: str | None = field(_OPT_STR, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AuditEntry(Record):
    """One state change of a tool call."""

    state: ToolCallState = field(choice(ToolCallState))
    timestamp: datetime = field(TIME)
    note: str | None = field(_OPT_STR, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ToolCallRecord(Record):
    """A tool call, its approval, its outcome and its audit trail."""

    id: str = field(STR)
    name: str = field(STR)
    state: ToolCallState = field(choice(ToolCallState))
    created_at: datetime = field(TIME)
    updated_at: datetime = field(TIME)
    input: Any = field(JSON, default=None)
    approval: ToolCallApproval = field(record(ToolCallApproval), factory=lambda: ToolCallApproval())
    result: Any = field(JSON, default=None)
    error: str | None = field(_OPT_STR, default=None)
    is_error: bool | None = field(optional(BOOL), default=None)
    started_at: datetime | None = field(_OPT_TIME, default=None)
    completed_at: datetime | None = field(_OPT_TIME, default=None)
    duration_ms: float | None = field(optional(non_negative(NUMBER)), default=None)
    audit_trail: tuple[AuditEntry, ...] = field(
        list_of(record(AuditEntry)), converter=tuple, default=()
    )
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TodoItem(Record):
    """One item of the agent's todo list."""

    id: str = field(STR)
    title: str = field(STR)
    status: str = field(STR)
    created_at: datetime = field(TIME)
    updated_at: datetime = field(TIME)
    assignee: str | None = field(_OPT_STR, default=None)
    notes: str | None = field(_OPT_STR, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TodoSnapshot(Record):
    """The whole todo list at one version."""

    todos: tuple[TodoItem, ...] = field(list_of(record(TodoItem)), converter=tuple)
    version: int = field(non_negative(INT))
    updated_at: datetime = field(TIME)
    extra: Mapping[str, Any] = extra_field()


# -- events -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Bookmark(Record):
    """A position in an agent's timeline: its sequence number and time."""

    seq: int = field(non_negative(INT))
    timestamp: datetime = field(TIME)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentEvent(Record):
    """An event: its channel, its type, and its payload keys in ``extra``."""

    channel: EventChannel = field(choice(EventChannel))
    type: str = field(STR)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Timeline(Record):
    """One timeline entry; ``bookmark.seq`` orders an agent's events across channels."""

    cursor: int = field(non_negative(INT))
    bookmark: Bookmark = field(record(Bookmark))
    event: AgentEvent = field(record(AgentEvent))
    extra: Mapping[str, Any] = extra_field()


# -- history, media, snapshots, info ------------------------------------------------


@attrs.frozen(kw_only=True)
class HistoryWindow(Record):
    """A window of conversation set aside before compression."""

    id: str = field(STR)
    timestamp: datetime = field(TIME)
    messages: tuple[Message, ...] = field(list_of(record(Message)), converter=tuple, default=())
    events: tuple[Any, ...] = field(list_of(JSON), converter=tuple, default=())
    stats: Mapping[str, Any] | None = field(optional(OBJECT), default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CompressionRecord(Record):
    """How a history window was compressed."""

    id: str = field(STR)
    timestamp: datetime = field(TIME)
    window_id: str | None = field(_OPT_STR, default=None)
    summary: str | None = field(_OPT_STR, default=None)
    ratio: float | None = field(optional(NUMBER), default=None)
    config: Mapping[str, Any] | None = field(optional(OBJECT), default=None)
    recovered_files: tuple[str, ...] = field(list_of(STR), converter=tuple, default=())
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class RecoveredFile(Record):
    """A file's content recovered after compression."""

    path: str = field(STR)
    content: str = field(STR)
    timestamp: datetime = field(TIME)
    mtime: datetime | None = field(_OPT_TIME, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class MediaCacheRecord(Record):
    """A media file already uploaded to a provider, so it is not sent twice."""

    id: str = field(STR)
    mime_type: str | None = field(_OPT_STR, default=None)
    provider: str | None = field(_OPT_STR, default=None)
    file_id: str | None = field(_OPT_STR, default=None)
    url: str | None = field(_OPT_STR, default=None)
    size_bytes: int | None = field(optional(non_negative(INT)), default=None)
    created_at: datetime | None = field(_OPT_TIME, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Snapshot(Record):
    """A saved point of the conversation an agent can be restored to."""

    id: str = field(STR)
    messages: tuple[Message, ...] = field(list_of(record(Message)), converter=tuple)
    last_sfp_index: int = field(INT)
    last_bookmark: Bookmark = field(record(Bookmark))
    created_at: datetime = field(TIME)
    metadata: Mapping[str, Any] | None = field(optional(OBJECT), default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentInfo(Record):
    """What an agent is: template, lineage, configuration version and progress."""

    agent_id: str = field(STR)
    template_id: str = field(STR)
    created_at: datetime = field(TIME)
    lineage: tuple[str, ...] = field(list_of(STR), converter=tuple, default=())
    config_version: str = field(STR, default="1")
    message_count: int = field(non_negative(INT), default=0)
    last_sfp_index: int = field(INT, default=-1)
    last_bookmark: Bookmark | None = field(optional(record(Bookmark)), default=None)
    breakpoint: str | None = field(_OPT_STR, default=None)
    metadata: Mapping[str, Any] = field(OBJECT, factory=dict)
    extra: Mapping[str, Any] = extra_field()
