"""Records: plain, frozen data that kode stores or returns. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._errors import InvalidKeyError
from .._text import unencodable

#: Longest accepted ``project_key``, ``session_id`` or ``subpath``, in characters.
MAX_KEY_PART_LENGTH = 1024


def _check_key_part(field: str, value: object, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidKeyError(field, f"must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidKeyError(field, "must not be empty")
    if len(value) > MAX_KEY_PART_LENGTH:
        raise InvalidKeyError(field, f"is longer than {MAX_KEY_PART_LENGTH} characters")
    if "\x00" in value:
        raise InvalidKeyError(field, "must not contain NUL characters")
    if not value.isascii() and (problem := unencodable(value)):
        raise InvalidKeyError(field, problem)
    return value


@attrs.frozen
class SessionKey:
    """Where a transcript lives: a project, a session and, for subagents, a subpath."""

    project_key: str
    session_id: str
    subpath: str | None = None

    @classmethod
    def parse(cls, key: object, *, allow_subpath: bool = True) -> SessionKey:
        """Validate an SDK-shaped key dict; raise :class:`InvalidKeyError` naming the bad part."""
        if isinstance(key, SessionKey):
            return key
        if not isinstance(key, Mapping):
            raise InvalidKeyError("key", f"must be a mapping, got {type(key).__name__}")
        project_key = _check_key_part("project_key", key.get("project_key"))
        session_id = _check_key_part("session_id", key.get("session_id"))
        subpath = _check_key_part("subpath", key.get("subpath"), optional=True)
        if subpath is not None and not allow_subpath:
            raise InvalidKeyError("subpath", "is not accepted here")
        assert project_key is not None
        assert session_id is not None
        return cls(project_key, session_id, subpath)

    @property
    def is_main(self) -> bool:
        """True for the main transcript (no subpath)."""
        return self.subpath is None

    @property
    def main(self) -> SessionKey:
        """The main transcript's key of this session."""
        return SessionKey(self.project_key, self.session_id)

    def as_dict(self) -> dict[str, str]:
        """The SDK's dict shape of this key."""
        out = {"project_key": self.project_key, "session_id": self.session_id}
        if self.subpath is not None:
            out["subpath"] = self.subpath
        return out


@attrs.frozen
class EncodedEntry:
    """One validated transcript entry: its JSON text, its uuid (if any) and the value."""

    text: str
    uuid: str | None
    value: Mapping[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen
class StoredEntry:
    """An entry read back with its position (per-key sequence number, increasing)."""

    position: int
    entry: dict[str, Any]


@attrs.frozen
class EntryPage:
    """A page of a transcript; pass ``next_after`` back as ``after`` for the next page."""

    entries: list[StoredEntry]
    next_after: int | None


@attrs.frozen
class SessionListing:
    """A main transcript of a project and its last write time (epoch milliseconds)."""

    session_id: str
    mtime: int

    def as_dict(self) -> dict[str, Any]:
        """The SDK's ``SessionStoreListEntry`` shape."""
        return {"session_id": self.session_id, "mtime": self.mtime}


@attrs.frozen
class SessionPage:
    """A page of a project's sessions ordered by id; pass ``next_after`` back for more."""

    sessions: list[SessionListing]
    next_after: str | None


@attrs.frozen
class ProjectPage:
    """A page of project keys in code point order; pass ``next_after`` back for more."""

    projects: list[str]
    next_after: str | None


@attrs.frozen
class SessionSummary:
    """A session's folded summary: ``data`` is opaque and stored verbatim."""

    session_id: str
    mtime: int
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The SDK's ``SessionSummaryEntry`` shape."""
        return {"session_id": self.session_id, "mtime": self.mtime, "data": self.data}
