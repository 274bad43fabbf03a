"""The key layout of the ``redis`` session store and its schema version.

One project's keys share the hash tag ``{<project>}``: a Redis Cluster would
put them in one slot, so the multi-key transactions of the store (a transcript
plus its project's indexes) never cross slots. Layout, ``P``/``S``/``B`` being
the escaped project key, session id and subpath (``B`` is empty for the main
transcript; see :func:`~kode_redis._schema.escape`)::

    kode:<ns>:meta                  HASH   schema_version: this layout's version
    kode:<ns>:{P}:sessions          ZSET   session id, score 0 (ordered by id, BYLEX)
    kode:<ns>:{P}:mtimes            HASH   session id -> mtime (epoch ms)
    kode:<ns>:{P}:summaries         HASH   session id -> "<mtime>:<summary data JSON>"
    kode:<ns>:{P}:subpaths:<S>      SET    subpaths written under session S
    kode:<ns>:{P}:t:<S>:<B>:log     LIST   entry JSON texts; position = 1-based index
    kode:<ns>:{P}:t:<S>:<B>:uuids   SET    uuids stored in that transcript
    kode:<ns>:{P}:t:<S>:<B>:meta    HASH   batch: id of the last applied append
"""

from __future__ import annotations

import attrs

from kode_core.sessions import SessionKey

from .._schema import RedisSchema, escape, unescape

#: The session keys: version 1 is the first layout (its keys come with the writes).
SESSIONS = RedisSchema("sessions", 1)


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
