"""MongoDB filters and sorts for the agent store's queries, and the lease pipelines.

Sort fields come from the core's fixed lists, mapped here to stored field names;
no user text ever becomes a field name. Strings are compared by MongoDB's
default (binary) order, which for UTF-8 is code point order, as the reference
matcher's Python ``str`` order is.
"""

from __future__ import annotations

from kode_core.agents import MessageQuery, SessionQuery, ToolCallQuery
from kode_core.backend import prefix_upper_bound

from .._schema import Document

INT64_MAX = 2**63 - 1  # BSON's largest integer: seqs, limits and offsets never exceed it

Sort = list[tuple[str, int]]

_SESSION_FIELDS = {"created_at": "c", "agent_id": "_id", "template_id": "t", "message_count": "n"}
_MESSAGE_FIELDS = {"created_at": "c", "agent_id": "a", "role": "r"}
_TOOL_CALL_FIELDS = {"created_at": "c", "updated_at": "u", "name": "n", "state": "s"}


def int64(value: int) -> int:
    return min(value, INT64_MAX)


def _window(query: SessionQuery | MessageQuery | ToolCallQuery) -> Document:
    bounds: Document = {}
    if query.created_after_ms is not None:
        bounds["$gte"] = query.created_after_ms
    if query.created_before_ms is not None:
        bounds["$lt"] = query.created_before_ms
    return {"c": bounds} if bounds else {}


def _sort(field: str, descending: bool, tie: Sort) -> Sort:
    # The reference matcher sorts by the tie-break ascending, then stably by the
    # field in the asked order: the same as one sort on (field, tie...).
    return [(field, -1 if descending else 1), *(item for item in tie if item[0] != field)]


def session_filter(query: SessionQuery) -> tuple[Document, Sort]:
    spec: Document = _window(query)
    if query.agent_id is not None:
        spec["_id"] = query.agent_id
    if query.template_id is not None:
        spec["t"] = query.template_id
    return spec, _sort(_SESSION_FIELDS[query.sort_by], query.descending, [("_id", 1)])


def message_filter(query: MessageQuery) -> tuple[Document, Sort]:
    spec: Document = _window(query)
    if query.agent_id is not None:
        spec["a"] = query.agent_id
    if query.role is not None:
        spec["r"] = query.role
    if query.content_type is not None:
        spec["ct"] = query.content_type  # matches an element of the array
    tie = [("a", 1), ("p", 1)]
    return spec, _sort(_MESSAGE_FIELDS[query.sort_by], query.descending, tie)


def tool_call_filter(query: ToolCallQuery) -> tuple[Document, Sort]:
    spec: Document = _window(query)
    for field, value in (
        ("a", query.agent_id),
        ("n", query.tool_name),
        ("s", query.state),
        ("e", query.is_error),
        ("h", query.has_approval),
    ):
        if value is not None:
            spec[field] = value
    tie = [("a", 1), ("i", 1)]
    return spec, _sort(_TOOL_CALL_FIELDS[query.sort_by], query.descending, tie)


def prefix_filter(prefix: str | None) -> Document:
    """An ``_id`` range holding exactly the ids that start with the literal ``prefix``.

    A range, never a regex: no character of the prefix is special.
    """
    if prefix is None:
        return {}
    bounds: Document = {"$gte": prefix}
    upper = prefix_upper_bound(prefix)
    if upper is not None:
        bounds["$lt"] = upper
    return {"_id": bounds}


# -- the lease, on the server's clock ---------------------------------------------

#: The server's clock in epoch milliseconds. The lease stores numbers, not dates:
#: secantus compares a stored date with ``$$NOW`` wrongly, numbers it compares right.
