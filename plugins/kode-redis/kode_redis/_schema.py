"""The key layout of the ``redis`` backend and its schema versions.

Every key of a namespace starts with ``kode:<namespace>:``. Key parts that come
from callers (project key, session id, subpath) are escaped so that ``:``,
``{`` and ``}`` never occur inside them: ``%`` -> ``%25``, ``:`` -> ``%3A``,
``{`` -> ``%7B``, ``}`` -> ``%7D``. The escape is injective, so two different
keys never share a Redis key, and ``:`` stays an unambiguous separator.

One project's keys share the hash tag ``{<project>}``: a Redis Cluster would
put them in one slot, so the multi-key transactions below (a transcript plus
its project's indexes) never cross slots. Layout, ``P``/``S``/``B`` being the
escaped project key, session id and subpath (``B`` is empty for the main
transcript)::

    kode:<ns>:meta                  HASH   one version field per component (service
                                           family): schema_version (sessions),
                                           agents_schema_version (agents)
    kode:<ns>:{P}:sessions          ZSET   session id, score 0 (ordered by id, BYLEX)
    kode:<ns>:{P}:mtimes            HASH   session id -> mtime (epoch ms)
    kode:<ns>:{P}:summaries         HASH   session id -> "<mtime>:<summary data JSON>"
    kode:<ns>:{P}:subpaths:<S>      SET    subpaths written under session S
    kode:<ns>:{P}:t:<S>:<B>:log     LIST   entry JSON texts; position = 1-based index
    kode:<ns>:{P}:t:<S>:<B>:uuids   SET    uuids stored in that transcript
    kode:<ns>:{P}:t:<S>:<B>:meta    HASH   batch: id of the last applied append
"""

from __future__ import annotations

import re

import attrs
from redis.asyncio import Redis

from kode_core import BackendError, SchemaVersionError, SessionKey


@attrs.frozen
class SchemaComponent:
    """One service family's key layout: its name, the version this code reads and
    writes, and the field of ``kode:<ns>:meta`` that records it.

    Version 1 is every component's first layout, so there are no migrations yet.
    """

    name: str
    version: int
    field: str


#: The session keys.
SESSIONS = SchemaComponent("sessions", 1, "schema_version")

_ESCAPES = str.maketrans({"%": "%25", ":": "%3A", "{": "%7B", "}": "%7D"})
_UNESCAPES = {"%25": "%", "%3A": ":", "%7B": "{", "%7D": "}"}
_ESCAPED = re.compile("|".join(_UNESCAPES))


def escape(part: str) -> str:
    """A caller-supplied key part made safe to embed between ``:`` separators."""
    return part.translate(_ESCAPES)


def unescape(part: str) -> str:
    """The key part :func:`escape` made ``part`` from."""
    return _ESCAPED.sub(lambda match: _UNESCAPES[match.group()], part)


@attrs.frozen
class TranscriptKeys:
    """The keys of one transcript (main or subpath)."""

    log: str
    uuids: str
    meta: str


@attrs.frozen
class ProjectKeys:
    """The per-project indexes behind the session listings."""

    sessions: str
    mtimes: str
    summaries: str


@attrs.frozen
class KeyLayout:
    """Maps a namespace and session keys to Redis key names."""

    namespace: str

    @property
    def meta(self) -> str:
        """The namespace's metadata hash, which records each component's version."""
        return f"kode:{self.namespace}:meta"

    @property
    def sessions_pattern(self) -> str:
        """A ``SCAN MATCH`` pattern for every project's sessions index (and maybe more)."""
        return f"kode:{self.namespace}:{{*}}:sessions"

    def project_of(self, sessions_key: str) -> str | None:
        """The project key whose sessions index is ``sessions_key``, or None if it is not one."""
        prefix, suffix = f"kode:{self.namespace}:{{", "}:sessions"
        inner = sessions_key[len(prefix) : -len(suffix)]
        if not (sessions_key.startswith(prefix) and sessions_key.endswith(suffix)):
            return None
        if any(char in inner for char in ":{}"):
            return None
        return unescape(inner)

    def _project_prefix(self, project_key: str) -> str:
        return f"kode:{self.namespace}:{{{escape(project_key)}}}"

    def project(self, project_key: str) -> ProjectKeys:
        prefix = self._project_prefix(project_key)
        return ProjectKeys(f"{prefix}:sessions", f"{prefix}:mtimes", f"{prefix}:summaries")

    def subpaths(self, key: SessionKey) -> str:
        """The set of subpaths written under ``key``'s session."""
        return f"{self._project_prefix(key.project_key)}:subpaths:{escape(key.session_id)}"

    def transcript(self, key: SessionKey) -> TranscriptKeys:
        subpath = escape(key.subpath) if key.subpath is not None else ""
        base = f"{self._project_prefix(key.project_key)}:t:{escape(key.session_id)}:{subpath}"
        return TranscriptKeys(f"{base}:log", f"{base}:uuids", f"{base}:meta")


async def ensure_schema(
    client: Redis, layout: KeyLayout, component: SchemaComponent, *, auto_migrate: bool
) -> None:
    """Check (and on a fresh namespace, record) ``component``'s version in ``layout.meta``.

    Raises :class:`~kode_core.SchemaVersionError` when the recorded version is not
    ``component.version``, or when none is recorded and ``auto_migrate`` is off (then
    nothing is written). Recording uses ``HSETNX``: the engine lets exactly one of
    several racing processes write it, and all of them then read the same value.
    """
    field, supported = component.field, component.version
    where = f"{layout.meta} {field}"
    found = await client.hget(layout.meta, field)
    if found is None:
        if not auto_migrate:
            raise SchemaVersionError("redis", 0, supported, where=where)
        await client.hsetnx(layout.meta, field, supported)
        found = await client.hget(layout.meta, field)
    text = _text(found)
    if not text.isdigit():
        raise BackendError("redis", f"{layout.meta} holds an unreadable {field} {text!r}")
    if int(text) != supported:
        # Version 1 is the first layout, so there is nothing older to migrate from yet.
        raise SchemaVersionError("redis", int(text), supported, where=where)


async def stored_version(client: Redis, layout: KeyLayout, component: SchemaComponent) -> int:
    """The recorded version of ``component`` (0: none). Writes nothing."""
    found = await client.hget(layout.meta, component.field)
    if found is None:
        return 0
    text = _text(found)
    # An unreadable value counts as newer than this code: it is not one we wrote.
    return int(text) if text.isdigit() else component.version + 1


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
