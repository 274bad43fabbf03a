"""Session transcripts in this process's memory: the executable reference of the contract."""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence

import attrs

from .._clock import now_ms
from .._options import BackendOptions
from ..memory import MemoryBackend
from ._options import SessionOptions
from ._records import EncodedEntry, SessionKey, SessionListing, SessionSummary
from ._store import SessionStore


@attrs.define
class _Transcript:
    entries: list[tuple[int, str]] = attrs.Factory(list)
    uuids: set[str] = attrs.Factory(set)
    last_position: int = 0
    mtime: int = 0
    summary: tuple[int, str] | None = None


_Data = dict[SessionKey, _Transcript]
#: The memory backend's layout has one version: there is nothing stored to migrate.
SCHEMA_VERSION = 1


class MemorySessionStore(SessionStore):
    """Session transcripts in memory.

    No method awaits between reading and writing its data, so each one is
    atomic on the event loop without a lock.
    """

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: SessionOptions
    ) -> None:
        super().__init__(options, settings)
        self._data: _Data = backend.namespace_data("sessions", options.namespace, dict)

    def __repr__(self) -> str:
        return f"<MemorySessionStore namespace={self.namespace!r}>"

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _migrate(self) -> None:
        pass  # nothing is stored beyond this process, so there is no schema to keep

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION  # dictionaries are always at the current layout

    async def _projects(self, after: str | None, limit: int) -> list[str]:
        projects = {
            key.project_key
            for key in self._data
            if key.is_main and (after is None or key.project_key > after)
        }
        return sorted(projects)[:limit]

    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        transcript = self._data.get(key) or _Transcript()
        fresh = [item for item in batch if item.uuid is None or item.uuid not in transcript.uuids]
        if not fresh:
            return
        summary = self.fold_summary(key, transcript.summary, fresh)
        for item in fresh:
            transcript.last_position += 1
            transcript.entries.append((transcript.last_position, item.text))
            if item.uuid is not None:
                transcript.uuids.add(item.uuid)
        transcript.mtime = now_ms()
        if summary is not None:
            transcript.summary = (transcript.mtime, summary)
        self._data[key] = transcript

    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        transcript = self._data.get(key)
        if transcript is None:
            return []
        start = bisect.bisect_right(transcript.entries, after, key=_position)
        return transcript.entries[start : start + limit]

    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        transcript = self._data.get(key)
        return transcript.entries[-count:] if transcript else []

    async def _count(self, key: SessionKey) -> int:
        transcript = self._data.get(key)
        return len(transcript.entries) if transcript else 0

    async def _sessions(
        self, project_key: str, after: str | None, limit: int | None
    ) -> list[SessionListing]:
        found = sorted(
            (
                SessionListing(key.session_id, t.mtime)
                for key, t in self._data.items()
                if key.project_key == project_key
                and key.is_main
                and (after is None or key.session_id > after)
            ),
            key=lambda listing: listing.session_id,
        )
        return found[:limit] if limit is not None else found

    async def _summaries(self, project_key: str) -> list[SessionSummary]:
        return [
            SessionSummary(key.session_id, t.summary[0], json.loads(t.summary[1]))
            for key, t in self._data.items()
            if key.project_key == project_key and key.is_main and t.summary is not None
        ]

    async def _delete(self, key: SessionKey) -> None:
        doomed = [
            stored for stored in self._data if stored == key or (key.is_main and stored.main == key)
        ]
        for stored in doomed:
            del self._data[stored]

    async def _subkeys(self, key: SessionKey) -> list[str]:
        return sorted(
            stored.subpath
            for stored in self._data
            if stored.subpath is not None and stored.main == key
        )


def _position(row: tuple[int, str]) -> int:
    return row[0]
