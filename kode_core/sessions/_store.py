"""The session-transcript contract (the Claude Agent SDK's ``SessionStore``) and its base class.

:class:`SessionStore` supplies the behaviour every backend shares: key and
entry validation before any I/O, JSON encoding, summary folding, paging
helpers. A backend implements the underscore primitives, each of which must
be atomic in its engine.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from .. import _json
from .._errors import InvalidDataError
from .._options import BackendOptions
from .._record_codec import check_count
from .._store import Store
from ._entries import decode_entry, encode_batch
from ._options import SessionOptions
from ._records import (
    EncodedEntry,
    EntryPage,
    ProjectPage,
    SessionKey,
    SessionListing,
    SessionPage,
    SessionSummary,
    StoredEntry,
)

#: ``fold(prev_summary | None, key_dict, entries) -> summary``, like the SDK's
#: ``fold_session_summary``.
SummaryFold = Callable[[Any, Any, Any], Any]

DEFAULT_PAGE_SIZE = 1000


@functools.cache  # every store build asks; a missing package must not be searched each time
def sdk_summary_fold() -> SummaryFold | None:
    """The Claude Agent SDK's ``fold_session_summary`` if that package is importable."""
    try:
        from claude_agent_sdk import fold_session_summary
    except ImportError:
        return None
    return fold_session_summary


class SessionStore(Store):
    """Append-only transcripts per (project, session, subpath), idempotent by entry ``uuid``.

    A drop-in value for ``ClaudeAgentOptions(session_store=...)``. Every method
    validates its input first and raises :class:`~kode_core.InvalidKeyError` or
    :class:`~kode_core.InvalidEntryError` before anything is written; an engine
    that cannot be reached raises :class:`~kode_core.BackendUnavailableError`.
    """

    def __init__(self, options: BackendOptions, settings: SessionOptions) -> None:
        super().__init__(options)
        self._max_entry_bytes = settings.max_entry_bytes
        self._fold: SummaryFold | None = settings.summary_fold or sdk_summary_fold()

    @property
    def offers_summaries(self) -> bool:
        """True when a summary fold is configured (or the SDK's is importable)."""
        return self._fold is not None

    # -- the SDK contract -------------------------------------------------------

    async def append(self, key: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> None:
        """Store a batch atomically, in order, skipping entries whose uuid is already stored.

        Raises :class:`~kode_core.InvalidEntryError` (with the entry's index) and stores
        nothing if any entry is not a JSON object, has no string ``type``, cannot be
        encoded as JSON or is over ``max_entry_bytes``.
        """
        session_key = SessionKey.parse(key)
        batch = encode_batch(entries, self._max_entry_bytes)
        if batch:
            await self._append(session_key, batch)

    async def load(self, key: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Every entry of the key in order, or ``None`` if it was never written."""
        session_key = SessionKey.parse(key)
        entries: list[dict[str, Any]] = []
        after = 0
        while True:  # pages of rows decoded straight to dicts: no StoredEntry per entry
            rows = await self._read(session_key, after, DEFAULT_PAGE_SIZE)
            entries.extend([decode_entry(text) for _, text in rows])
            if len(rows) < DEFAULT_PAGE_SIZE:
                return entries or None
            after = rows[-1][0]

    async def list_sessions(self, project_key: str) -> list[dict[str, Any]]:
        """Every main transcript of the project with its mtime (epoch ms); no cap."""
        project = self._project(project_key)
        return [listing.as_dict() for listing in await self._sessions(project, None, None)]

    async def list_session_summaries(self, project_key: str) -> list[dict[str, Any]]:
        """The summaries stored for the project's sessions.

        :meth:`append` keeps them up to date when a fold is configured (or the Claude
        Agent SDK is importable); without one, what earlier writers stored is still
        returned (an operator's tool needs no SDK to show titles), and appends leave
        it as it is (see :attr:`offers_summaries`).
        """
        project = self._project(project_key)
        return [summary.as_dict() for summary in await self._summaries(project)]

    async def delete(self, key: Mapping[str, Any]) -> None:
        """Remove a transcript; a main key also removes its subkeys and summary."""
        await self._delete(SessionKey.parse(key))

    async def list_subkeys(self, key: Mapping[str, Any]) -> list[str]:
        """The subpaths written under a session in code point order, never the main transcript."""
        session_key = SessionKey.parse(key, allow_subpath=False)
        return await self._subkeys(session_key)

    # -- kode's additions -------------------------------------------------------

    async def list_projects_page(
        self, *, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ProjectPage:
        """A page of the project keys that have a main transcript, in code point order.

        For operators (export, copy): a harness knows its projects. Pass ``next_after``
        back as ``after`` for the next page; it is None on the last one.
        """
        if after is not None:
            after = self._project(after)
        if check_count("limit", limit) == 0:
            return ProjectPage([], None)
        projects = await self._projects(after, limit)
        return ProjectPage(projects, projects[-1] if len(projects) == limit else None)

    async def load_page(
        self, key: Mapping[str, Any], *, after: int = 0, limit: int = DEFAULT_PAGE_SIZE
    ) -> EntryPage:
        """Up to ``limit`` entries positioned after ``after``; ``next_after`` is None at the end."""
        session_key = SessionKey.parse(key)
        after = check_count("after", after)
        if check_count("limit", limit) == 0:
            return EntryPage([], None)
        rows = await self._read(session_key, after, limit)
        entries = [StoredEntry(position, decode_entry(text)) for position, text in rows]
        next_after = entries[-1].position if len(entries) == limit else None
        return EntryPage(entries, next_after)

    async def iter_entries(
        self, key: Mapping[str, Any], *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncIterator[StoredEntry]:
        """Stream a transcript in order, one page query at a time."""
        after: int | None = 0
        while after is not None:
            page = await self.load_page(key, after=after, limit=page_size)
            for stored in page.entries:
                yield stored
            after = page.next_after

    async def load_tail(self, key: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
        """The last ``count`` entries, oldest first."""
        session_key = SessionKey.parse(key)
        if check_count("count", count) == 0:
            return []
        return [decode_entry(text) for _, text in await self._read_tail(session_key, count)]

    async def count_entries(self, key: Mapping[str, Any]) -> int:
        """How many entries the key holds (0 if never written)."""
        return await self._count(SessionKey.parse(key))

    async def list_sessions_page(
        self, project_key: str, *, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> SessionPage:
        """A page of the project's main transcripts ordered by session id."""
        project = self._project(project_key)
        if after is not None and not isinstance(after, str):
            raise InvalidDataError(f"after must be a session id or None, got {after!r}")
        if check_count("limit", limit) == 0:
            return SessionPage([], None)
        sessions = await self._sessions(project, after, limit)
        next_after = sessions[-1].session_id if len(sessions) == limit else None
        return SessionPage(sessions, next_after)

    # -- shared helpers for backends ---------------------------------------------

    def fold_summary(
        self,
        key: SessionKey,
        previous: tuple[int, str] | None,
        stored: Sequence[EncodedEntry],
    ) -> str | None:
        """The summary ``data`` as JSON text after folding newly ``stored`` entries.

        ``previous`` is the stored ``(mtime, data_text)`` or None. Returns None when
        nothing is to be written: a subpath key, no fold, or no new entries.
        Backends call this inside the same transaction (or lock) as the insert.
        """
        if self._fold is None or not key.is_main or not stored:
            return None
        prev = None
        if previous is not None:
            mtime, data_text = previous
            prev = {"session_id": key.session_id, "mtime": mtime, "data": _json.loads(data_text)}
        summary = self._fold(prev, key.as_dict(), [dict(item.value) for item in stored])
        return _json.dumps(summary["data"])

    @staticmethod
    def _project(project_key: object) -> str:
        return SessionKey.parse({"project_key": project_key, "session_id": "-"}).project_key

    # -- what a backend implements -----------------------------------------------

    @abc.abstractmethod
    async def _projects(self, after: str | None, limit: int) -> list[str]:
        """Project keys with a main transcript, code point order, after ``after``, at most
        ``limit``."""

    @abc.abstractmethod
    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        """Atomically store the entries whose uuid is not stored under ``key`` yet.

        Also, in the same atomic step: stamp the key's mtime with :func:`now_ms`,
        and for a main key store :meth:`fold_summary` of the entries actually stored.
        """

    @abc.abstractmethod
    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        """``(position, json_text)`` of up to ``limit`` entries after ``after``, ascending."""

    @abc.abstractmethod
    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        """The last ``count`` entries as ``(position, json_text)``, ascending."""

    @abc.abstractmethod
    async def _count(self, key: SessionKey) -> int:
        """Number of entries under ``key``."""

    @abc.abstractmethod
    async def _sessions(
        self, project_key: str, after: str | None, limit: int | None
    ) -> list[SessionListing]:
        """Main transcripts of the project ordered by id, after ``after``, at most ``limit``."""

    @abc.abstractmethod
    async def _summaries(self, project_key: str) -> list[SessionSummary]:
        """Stored summaries of the project's main transcripts."""

    @abc.abstractmethod
    async def _delete(self, key: SessionKey) -> None:
        """Delete a key; for a main key also every subkey and the summary. Unknown: no-op."""

    @abc.abstractmethod
    async def _subkeys(self, key: SessionKey) -> list[str]:
        """Subpaths stored under the session of ``key``."""
