"""Query filters of the queryable agent store: parsing, validation, and the reference matcher.

Filters are a mapping. Both name sets of the KODE SDK are accepted (its guide's
``templateId``/``createdAfter``... and its code's ``startDate``/``sortBy``...), in
camelCase or snake_case. Unknown filters, wrong types and sort fields outside
the fixed list are refused with an error naming the filter. Time windows are
half-open: ``created_after <= created_at < created_before``. Results are ordered
by the sort field, then by agent id and position (or tool-call id), so every
engine returns the same order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from .._errors import InvalidRecordError
from .._record_codec import TIME, check_count, to_ms
from ._records import ToolCallState
from ._rows import InfoRow, MessageRow, ToolCallRow

DEFAULT_LIMIT = 100
CONTENT_TYPES = frozenset(
    {"text", "image_url", "tool_use", "tool_result", "reasoning", "image", "audio", "video", "file"}
)
ROLES = frozenset({"user", "assistant", "system"})

#: Every accepted spelling -> the filter it sets.
_ALIASES = {
    "agent_id": "agent_id",
    "template_id": "template_id",
    "role": "role",
    "content_type": "content_type",
    "tool_name": "tool_name",
    "name": "tool_name",
    "state": "state",
    "is_error": "is_error",
    "has_approval": "has_approval",
    "created_after": "created_after",
    "start_date": "created_after",
    "since": "created_after",
    "created_before": "created_before",
    "end_date": "created_before",
    "until": "created_before",
    "limit": "limit",
    "offset": "offset",
    "sort_by": "sort_by",
    "sort": "sort_by",
    "order_by": "sort_by",
    "sort_order": "sort_order",
    "order": "sort_order",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

SESSION_SORT_FIELDS = ("created_at", "agent_id", "template_id", "message_count")
MESSAGE_SORT_FIELDS = ("created_at", "agent_id", "role")
TOOL_CALL_SORT_FIELDS = ("created_at", "updated_at", "name", "state")


@attrs.frozen(kw_only=True)
class _Query:
    agent_id: str | None = None
    created_after_ms: int | None = None
    created_before_ms: int | None = None
    sort_by: str = "created_at"
    descending: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@attrs.frozen(kw_only=True)
class SessionQuery(_Query):
    """Agents (their info records) by template and creation time."""

    template_id: str | None = None


@attrs.frozen(kw_only=True)
class MessageQuery(_Query):
    """Stored messages by agent, role, content block type and first-stored time."""

    role: str | None = None
    content_type: str | None = None


@attrs.frozen(kw_only=True)
class ToolCallQuery(_Query):
    """Tool-call records by agent, tool name, state, error, approval and creation time."""

    tool_name: str | None = None
    state: str | None = None
    is_error: bool | None = None
    has_approval: bool | None = None


_Q = TypeVar("_Q", bound=_Query)
_FILTERS: dict[type[_Query], tuple[frozenset[str], tuple[str, ...]]] = {
    SessionQuery: (frozenset({"agent_id", "template_id"}), SESSION_SORT_FIELDS),
    MessageQuery: (frozenset({"agent_id", "role", "content_type"}), MESSAGE_SORT_FIELDS),
    ToolCallQuery: (
        frozenset({"agent_id", "tool_name", "state", "is_error", "has_approval"}),
        TOOL_CALL_SORT_FIELDS,
    ),
}
_COMMON = frozenset({"created_after", "created_before", "limit", "offset", "sort_by", "sort_order"})


def parse_query(cls: type[_Q], filters: Mapping[str, Any] | None) -> _Q:
    """Validate ``filters`` into a ``cls`` query; :class:`InvalidRecordError` names the filter."""
    if filters is None:
        filters = {}
    if not isinstance(filters, Mapping):
        raise InvalidRecordError("filters", f"must be a mapping, got {type(filters).__name__}")
    own, sort_fields = _FILTERS[cls]
    allowed = own | _COMMON
    given: dict[str, tuple[str, Any]] = {}
    for spelling, value in filters.items():
        if not isinstance(spelling, str):
            raise InvalidRecordError("filters", f"has a non-string name {spelling!r}")
        name = _ALIASES.get(_CAMEL.sub("_", spelling).lower())
        if name is None or name not in allowed:
            names = ", ".join(sorted(allowed))
            raise InvalidRecordError(f"filter {spelling!r}", f"is unknown; known filters: {names}")
        if name in given:
            raise InvalidRecordError(
                f"filter {spelling!r}", f"sets the same filter as {given[name][0]!r}"
            )
        if value is not None:
            given[name] = (spelling, value)
    values: dict[str, Any] = {}
    for name, (spelling, value) in given.items():
        values.update(_check(name, f"filter {spelling!r}", value, sort_fields))
    return cls(**values)


def _check(name: str, label: str, value: Any, sort_fields: tuple[str, ...]) -> dict[str, Any]:
    if name in {"created_after", "created_before"}:
        return {f"{name}_ms": to_ms(TIME.decode(value, label))}
    if name in {"limit", "offset"}:
        return {name: check_count(label, value)}
    if name in {"is_error", "has_approval"}:
        if not isinstance(value, bool):
            raise InvalidRecordError(label, f"must be a bool, got {value!r}")
        return {name: value}
    if not isinstance(value, str):
        raise InvalidRecordError(label, f"must be a string, got {type(value).__name__}")
    if name == "sort_by":
        if value not in sort_fields:
            raise InvalidRecordError(
                label, f"must be one of {', '.join(sort_fields)}, got {value!r}"
            )
    elif name == "sort_order":
        if value.lower() not in {"asc", "desc"}:
            raise InvalidRecordError(label, f"must be 'asc' or 'desc', got {value!r}")
        return {"descending": value.lower() == "desc"}
    elif name == "role" and value not in ROLES:
        raise InvalidRecordError(label, f"must be one of {', '.join(sorted(ROLES))}, got {value!r}")
    elif name == "content_type" and value not in CONTENT_TYPES:
        raise InvalidRecordError(
            label, f"must be one of {', '.join(sorted(CONTENT_TYPES))}, got {value!r}"
        )
    elif name == "state" and value not in ToolCallState.__members__:
        states = ", ".join(ToolCallState.__members__)
        raise InvalidRecordError(label, f"must be one of {states}, got {value!r}")
    return {name: value}


# -- the reference matcher (memory and key-value engines use it) --------------------

_T = TypeVar("_T")


def _window(query: _Query, created_ms: int) -> bool:
    if query.created_after_ms is not None and created_ms < query.created_after_ms:
        return False
    return query.created_before_ms is None or created_ms < query.created_before_ms


def _ordered(
    query: _Query, items: Iterable[_T], sort_value: Callable[[_T], Any], tie: Callable[[_T], Any]
) -> list[_T]:
    # Two stable sorts: the tie-break ascending, then the sort field in the asked order.
    ordered = sorted(sorted(items, key=tie), key=sort_value, reverse=query.descending)
    return ordered[query.offset : query.offset + query.limit]


def select_sessions(query: SessionQuery, rows: Iterable[InfoRow]) -> list[InfoRow]:
    """The info rows ``query`` selects, in its order and page."""
    matched = [
        row
        for row in rows
        if (query.agent_id is None or row.agent_id == query.agent_id)
        and (query.template_id is None or row.template_id == query.template_id)
        and _window(query, row.created_ms)
    ]
    columns: dict[str, Callable[[InfoRow], Any]] = {
        "created_at": lambda row: row.created_ms,
        "agent_id": lambda row: row.agent_id,
        "template_id": lambda row: row.template_id,
        "message_count": lambda row: row.message_count,
    }
    return _ordered(query, matched, columns[query.sort_by], lambda row: row.agent_id)


def select_messages(
    query: MessageQuery, rows: Iterable[tuple[str, MessageRow]]
) -> list[tuple[str, MessageRow]]:
    """The ``(agent_id, row)`` pairs ``query`` selects, in its order and page."""
    matched = [
        (agent_id, row)
        for agent_id, row in rows
        if (query.agent_id is None or agent_id == query.agent_id)
        and (query.role is None or row.role == query.role)
        and (query.content_type is None or query.content_type in row.content_types)
        and _window(query, row.created_ms)
    ]
    columns: dict[str, Callable[[tuple[str, MessageRow]], Any]] = {
        "created_at": lambda item: item[1].created_ms,
        "agent_id": lambda item: item[0],
        "role": lambda item: item[1].role,
    }
    return _ordered(
        query, matched, columns[query.sort_by], lambda item: (item[0], item[1].position)
    )


def select_tool_calls(
    query: ToolCallQuery, rows: Iterable[tuple[str, ToolCallRow]]
) -> list[tuple[str, ToolCallRow]]:
    """The ``(agent_id, row)`` pairs ``query`` selects, in its order and page."""
    matched = [
        (agent_id, row)
        for agent_id, row in rows
        if (query.agent_id is None or agent_id == query.agent_id)
        and (query.tool_name is None or row.name == query.tool_name)
        and (query.state is None or row.state == query.state)
        and (query.is_error is None or row.is_error == query.is_error)
        and (query.has_approval is None or row.has_approval == query.has_approval)
        and _window(query, row.created_ms)
    ]
    columns: dict[str, Callable[[tuple[str, ToolCallRow]], Any]] = {
        "created_at": lambda item: item[1].created_ms,
        "updated_at": lambda item: item[1].updated_ms,
        "name": lambda item: item[1].name,
        "state": lambda item: item[1].state,
    }
    return _ordered(query, matched, columns[query.sort_by], lambda item: (item[0], item[1].id))
