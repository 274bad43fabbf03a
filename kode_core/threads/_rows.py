"""How threads and messages are laid out in an engine, and the console's thread query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from .._errors import InvalidRecordError
from .._record_codec import UTC
from ._records import Thread


@attrs.frozen
class ThreadRow:
    """A thread's indexed columns and its JSON (whose ``updated_at`` the column overrides)."""

    id: str
    resource_id: str
    created_ms: int
    updated_ms: int
    body: str


@attrs.frozen
class MessageRow:
    """A message to append: its id, time and JSON; the engine numbers it."""

    id: str
    created_ms: int
    body: str


@attrs.frozen
class OwnerRange:
    """Resource ids an owner may see: ``exact`` itself, or ``low <= id < high`` (``owner:…``)."""

    exact: str
    low: str
    high: str


def owner_ranges(owners: Sequence[str]) -> tuple[OwnerRange, ...]:
    """The ranges of resource ids ``owners`` match: ``o`` and ``o:…``, never ``o…``.

    ``";"`` follows ``":"`` in code point order, so ``o:`` <= id < ``o;`` holds exactly
    for the ids starting with ``o:`` (engines compare in code point order).
    """
    return tuple(OwnerRange(owner, f"{owner}:", f"{owner};") for owner in owners)


def owner_matches(resource_id: str, ranges: Sequence[OwnerRange]) -> bool:
    """Whether ``resource_id`` falls in one of ``ranges``."""
    return any(resource_id == r.exact or r.low <= resource_id < r.high for r in ranges)


@attrs.frozen
class ThreadQuery:
    """What :meth:`~kode_core.threads.ThreadConsole.list_threads` asks an engine for.

    ``owners`` None: no owner filter; otherwise never empty (the contract answers an
    empty list itself). Threads come newest update first (``updated_ms`` desc, ``id``
    desc), filtered before ``offset`` and ``limit`` apply.
    """

    agent_name: str | None
    resource_id: str | None
    owners: tuple[OwnerRange, ...] | None
    limit: int
    offset: int


def check_count(value: object, name: str) -> int:
    """``value`` if it is an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecordError(name, f"must be an int >= 0, got {value!r}")
    return value


def check_list(value: object, name: str) -> Sequence[Any]:
    """``value`` if it is a list (not a string or a mapping)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InvalidRecordError(name, f"must be a list, got {type(value).__name__}")
    return value


def thread_of(row: ThreadRow) -> Thread:
    """The thread a stored row holds (its ``updated_at`` from the row's column)."""
    thread = Thread.from_stored(row.body)
    updated = datetime.fromtimestamp(row.updated_ms / 1000, UTC)
    return thread if thread.updated_at == updated else attrs.evolve(thread, updated_at=updated)
