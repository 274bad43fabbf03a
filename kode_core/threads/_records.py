"""Records of agent threads: threads, their messages, and working-memory scopes.

An :class:`AgentMessage` keeps every field a runtime writes (content parts, tool
calls, tool results with their errors, reasoning, ``interrupted``, ``undelivered``)
and any key it does not know in ``extra``, so a message round-trips unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._record_codec import (
    BOOL,
    JSON,
    OBJECT,
    STR,
    TIME,
    Codec,
    Record,
    choice,
    extra_field,
    field,
    list_of,
    optional,
    record,
    stored_reader,
)
from ..runs._records import utc_now

_OPT_STR = optional(STR)
_OPT_BOOL = optional(BOOL)


class MessageRole(str, enum.Enum):
    """Who wrote a thread message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class PartType(str, enum.Enum):
    """The kinds of content part."""

    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    DATA = "data"
    GENERATIVE_UI = "generative-ui"


class MemoryScope(str, enum.Enum):
    """Whom working memory belongs to: one thread, or a resource (a user, a tenant...)."""

    THREAD = "thread"
    RESOURCE = "resource"


@attrs.frozen(kw_only=True)
class ContentPart(Record):
    """One part of a message's content.

    ``text`` for text parts; ``data`` (inline: base64 or JSON), ``url`` and
    ``mime_type`` for images, files and data; a generative-UI part's fields stay in
    ``data`` and ``extra``.
    """

    type: PartType = field(choice(PartType))
    text: str | None = field(_OPT_STR, default=None)
    data: Any = field(optional(JSON), default=None)
    url: str | None = field(_OPT_STR, default=None)
    mime_type: str | None = field(_OPT_STR, default=None)
    filename: str | None = field(_OPT_STR, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class MessageToolCall(Record):
    """A tool call an assistant message asks for."""

    id: str = field(STR)
    name: str = field(STR)
    args: Any = field(JSON, default=None)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class MessageToolResult(Record):
    """The result of a tool call; ``error`` says why it failed."""

    id: str = field(STR)
    name: str = field(STR)
    result: Any = field(JSON, default=None)
    error: str | None = field(_OPT_STR, default=None)
    extra: Mapping[str, Any] = extra_field()


_PARTS = list_of(record(ContentPart))


def _decode_content(value: Any, path: str) -> Any:
    if isinstance(value, str):
        return value
    return _PARTS.decode(value, path)


def _encode_content(value: Any) -> Any:
    return value if isinstance(value, str) else _PARTS.encode(value)


def _stored_content(value: Any) -> Any:
    return value if isinstance(value, str) else tuple(map(stored_reader(ContentPart), value))


#: A message's content: a string, or a list of parts.
CONTENT = Codec(_decode_content, _encode_content, _stored_content)


@attrs.frozen(kw_only=True)
class AgentMessage(Record):
    """One message of a thread."""

    id: str = field(STR)
    role: MessageRole = field(choice(MessageRole))
    content: str | tuple[ContentPart, ...] | None = field(optional(CONTENT), default=None)
    tool_calls: tuple[MessageToolCall, ...] | None = field(
        optional(list_of(record(MessageToolCall))), default=None
    )
    tool_results: tuple[MessageToolResult, ...] | None = field(
        optional(list_of(record(MessageToolResult))), default=None
    )
    reasoning_content: str | None = field(_OPT_STR, default=None)
    interrupted: bool | None = field(_OPT_BOOL, default=None)
    undelivered: bool | None = field(_OPT_BOOL, default=None)
    created_at: datetime = field(TIME, factory=utc_now)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Thread(Record):
    """A conversation thread of a resource (a user, a tenant: ``"tenant:user"``...)."""

    id: str = field(STR)
    resource_id: str = field(STR)
    title: str | None = field(_OPT_STR, default=None)
    metadata: Mapping[str, Any] | None = field(optional(OBJECT), default=None)
    created_at: datetime = field(TIME, factory=utc_now)
    updated_at: datetime = field(TIME, factory=utc_now)
    extra: Mapping[str, Any] = extra_field()
