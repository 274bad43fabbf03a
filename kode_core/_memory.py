"""The ``memory`` backend: the executable reference for every contract, in-process only."""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from ._backend import Backend
from ._memory_agent_store import AgentData, MemoryAgentStore
from ._options import BackendOptions
from ._records import EncodedEntry, SessionKey, SessionListing, SessionSummary
from ._session_store import SessionStore, now_ms
from ._version import __version__
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from ._registry import Registry


@attrs.frozen(kw_only=True)
class MemoryOptions(BackendOptions):
    """Options of the ``memory`` backend: only the common ones."""


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


class MemoryBackend(Backend):
    """Keeps every namespace's data in dictionaries of this process."""

    kind = "memory"

    def __init__(self, options: MemoryOptions) -> None:
        self._namespaces: dict[str, _Data] = {}
        self._agent_namespaces: dict[str, AgentData] = {}

    def session_store(self, options: BackendOptions) -> MemorySessionStore:
        return MemorySessionStore(self._namespaces.setdefault(options.namespace, {}), options)

    def agent_store(self, options: BackendOptions) -> MemoryAgentStore:
        data = self._agent_namespaces.setdefault(options.namespace, AgentData())
        return MemoryAgentStore(data, options)

    @property
    def driver_version(self) -> str:
        return f"none (in-process, kode-core {__version__})"

    async def aclose(self) -> None:
        self._namespaces.clear()
        self._agent_namespaces.clear()


class MemorySessionStore(SessionStore):
    """Session transcripts in memory.

    No method awaits between reading and writing its data, so each one is
    atomic on the event loop without a lock.
    """

    def __init__(self, data: _Data, options: BackendOptions) -> None:
        super().__init__(options)
        self._data = data

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


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the built-in ``memory`` backend."""
    registry.add_backend(
        "memory", options=MemoryOptions, factory=MemoryBackend, services={"sessions", "agents"}
    )
