"""What an agent store hands its engine: validated rows of JSON text, and the replace plan.

The core validates and encodes every record before any I/O; a backend only
stores these rows. Lists that are saved whole (messages, tool calls) are
replaced by :func:`plan_replace`, which writes only what changed and keeps the
first-stored time of every message that did not.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

_K = TypeVar("_K", bound=Hashable)


class DocFamily(str, enum.Enum):
    """Per-agent records stored as JSON documents keyed by ``key`` and ordered by ``sort_ms``."""

    TODOS = "todos"
    HISTORY_WINDOWS = "history_windows"
    COMPRESSION_RECORDS = "compression_records"
    RECOVERED_FILES = "recovered_files"
    MEDIA_CACHE = "media_cache"
    SNAPSHOTS = "snapshots"


def digest(text: str) -> str:
    """A content digest of a row's JSON text: equal digests mean an unchanged row."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@attrs.frozen
class MessageRow:
    """One message at ``position`` of the conversation.

    ``created_ms`` is the time it was first stored: :func:`plan_replace` replaces
    it with the stored time when a message with the same digest was there before.
    """

    position: int
    digest: str
    body: str
    role: str
    content_types: tuple[str, ...]
    created_ms: int

    @property
    def key(self) -> int:
        return self.position


@attrs.frozen
class ToolCallRow:
    """One tool-call record; ``position`` keeps the saved order, ``id`` is the key."""

    position: int
    id: str
    name: str
    state: str
    is_error: bool
    has_approval: bool
    created_ms: int
    updated_ms: int
    digest: str
    body: str

    @property
    def key(self) -> str:
        return self.id


@attrs.frozen
class InfoRow:
    """An agent's info record with the fields queries filter and sort on."""

    agent_id: str
    template_id: str
    created_ms: int
    message_count: int
    body: str


@attrs.frozen
class Doc:
    """A per-agent document of a :class:`DocFamily`."""

    key: str
    sort_ms: int
    body: str


@attrs.frozen
class StoredRowState:
    """What a backend knows of a stored row before a replace: digest and first-stored time."""

    digest: str
    created_ms: int


_Row = TypeVar("_Row", MessageRow, ToolCallRow)


@attrs.frozen
class ReplacePlan(Generic[_Row]):
    """The writes that turn the stored list into the saved one: nothing else is touched."""

    upserts: list[_Row]
    deletes: list[Any]

    @property
    def write_count(self) -> int:
        return len(self.upserts) + len(self.deletes)


def plan_replace(existing: Mapping[Any, StoredRowState], rows: Sequence[_Row]) -> ReplacePlan[_Row]:
    """Plan replacing the stored rows (``key -> state``) by ``rows``.

    A row whose key holds the same digest is left alone; other rows are upserted,
    and a message keeps the ``created_ms`` of a stored row with the same digest (so
    a message moved or re-sent keeps the time it was first stored). Keys not in
    ``rows`` are deleted. Call it inside the transaction (or script) that writes.
    """
    first_seen: dict[str, int] = {}
    for state in existing.values():
        first_seen.setdefault(state.digest, state.created_ms)
    upserts: list[_Row] = []
    for row in rows:
        stored = existing.get(row.key)
        if stored is not None and stored.digest == row.digest:
            continue
        if isinstance(row, MessageRow) and row.digest in first_seen:
            row = attrs.evolve(row, created_ms=first_seen[row.digest])
        upserts.append(row)
    keep = {row.key for row in rows}
    deletes = [key for key in existing if key not in keep]
    return ReplacePlan(upserts, deletes)
