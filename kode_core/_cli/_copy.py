"""The copy between two stores behind ``kode copy``: streaming, resumable, counted.

Each transcript is copied in batches read page by page from the source, so memory holds
one page at a time. A transcript the target holds already, whole or in part (an
interrupted copy), is recognised by its entry count and last entry: that prefix is
skipped, the rest appended. Anything else the target holds under the key is left to the
stores' dedupe by uuid. Summaries are the target's own: its appends fold them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs

from ..sessions import SessionStore
from ._common import is_terminal
from ._progress import progress_bar

#: Most entries, and most bytes of JSON, in one append of a copy.
BATCH_ENTRIES = 1000
BATCH_BYTES = 4 * 1024 * 1024

KeySource = Callable[[SessionStore, "str | None"], AsyncIterator[dict[str, str]]]


@attrs.define
class CopyTotals:
    """What a copy did: sessions and transcripts seen, entries written and skipped."""

    sessions: int = 0
    transcripts: int = 0
    written: int = 0
    skipped: int = 0


async def copy_store(
    source: SessionStore,
    target: SessionStore,
    keys: KeySource,
    *,
    project: str | None = None,
) -> CopyTotals:
    """Copy every transcript ``keys(source, project)`` yields; a progress bar on a terminal."""
    totals = CopyTotals()
    total = await count_sessions(source, keys, project) if is_terminal() else None
    with progress_bar("sessions", total) as bar:
        async for key in keys(source, project):
            if "subpath" not in key:
                totals.sessions += 1
                bar.advance()
            totals.transcripts += 1
            written, skipped = await copy_transcript(source, target, key)
            totals.written += written
            totals.skipped += skipped
            bar.note(f"{totals.written} written, {totals.skipped} skipped")
    return totals


async def count_sessions(store: SessionStore, keys: KeySource, project: str | None) -> int:
    """How many sessions ``keys`` yields: a listing pass, no entries read, so a progress
    bar knows its end."""
    sessions = 0
    async for key in keys(store, project):
        sessions += "subpath" not in key
    return sessions


async def copy_transcript(
    source: SessionStore, target: SessionStore, key: dict[str, str]
) -> tuple[int, int]:
    """Copy one transcript; ``(entries written, entries skipped as already present)``."""
    held = await target.count_entries(key)
    prefix = await _held_prefix(source, target, key, held)
    seen = 0
    batch: list[dict[str, Any]] = []
    size = 0
    async for stored in source.iter_entries(key):
        seen += 1
        if seen <= prefix:
            continue
        batch.append(stored.entry)
        size += len(str(stored.entry))
        if len(batch) >= BATCH_ENTRIES or size >= BATCH_BYTES:
            await target.append(key, batch)
            batch, size = [], 0
    if batch:
        await target.append(key, batch)
    written = await target.count_entries(key) - held
    return written, seen - written


async def _held_prefix(
    source: SessionStore, target: SessionStore, key: dict[str, str], held: int
) -> int:
    """How many of the source's first entries the target holds already, as its whole content."""
    if held == 0:
        return 0
    [last_held] = await target.load_tail(key, 1)
    total = await source.count_entries(key)
    if held > total:
        return 0
    if held == total:
        [last] = await source.load_tail(key, 1)
        return held if last == last_held else 0
    number = 0
    async for stored in source.iter_entries(key):  # an interrupted copy: find entry `held`
        number += 1
        if number == held:
            return held if stored.entry == last_held else 0
    return 0
