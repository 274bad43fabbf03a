"""Session transcripts in Redis: a LIST per transcript, appended by one Lua script."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import redis.exceptions

from kode_core import ConflictError
from kode_core.backend import now_ms
from kode_core.sessions import (
    EncodedEntry,
    SessionKey,
    SessionListing,
    SessionOptions,
    SessionStore,
    SessionSummary,
)

from .._backend import RedisBackend
from .._options import RedisOptions
from .schema import SESSIONS, KeyLayout
from .scripts import SessionScripts

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Compare-and-set appends lost to concurrent writers of the same key before giving up.
MAX_ATTEMPTS = 100
#: Summaries this store wrote last, kept per main transcript so that its next append can
#: fold without reading a snapshot first; the oldest is forgotten beyond this many.
MAX_REMEMBERED_SUMMARIES = 4096
_CONNECTION_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
_NONE_STORED: frozenset[str] = frozenset()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisSessionStore(SessionStore):
    """Session transcripts in one namespace of a Redis server.

    An append is one Lua script, which Redis runs atomically: it skips stored
    uuids, pushes the rest and updates the indexes. The summary fold is Python,
    so for a main transcript the store folds from a snapshot (stored uuids,
    previous summary) and has the script apply the result only if the snapshot
    still holds (compare-and-set), starting over otherwise. Both checks run
    inside the engine, so they hold across processes and machines.

    The first snapshot is a guess, with none of the batch's uuids stored: the
    summary this store last wrote to the transcript, or no summary at all (a
    session new to it). A right guess costs one round trip. A wrong one is
    refused by the script, which returns the stored summary and the uuids'
    membership, and the append folds again from those at once: two round trips,
    as reading first would take. After losing a race the append pauses and
    reads a snapshot; when every uuid is stored already, it stores nothing.
    """

    def __init__(
        self, backend: RedisBackend, options: RedisOptions, settings: SessionOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, SESSIONS)
        self._keys = KeyLayout(options.namespace)
        self._written: dict[SessionKey, str] = {}  # key -> its stored summary, as written
        self._script_keys_of: dict[SessionKey, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f"<RedisSessionStore namespace={self.namespace!r} backend={self._backend!r}>"

    async def _client(self) -> Redis:
        return await self._backend.client(self.namespace, SESSIONS)

    async def _projects(self, after: str | None, limit: int) -> list[str]:
        """Projects with a sessions index, code point order, after ``after``, at most ``limit``.

        Redis keeps no index of projects (one would span cluster slots), so this scans
        the namespace's keys: an operator's call, O(keys), never on an append's path.
        """
        client = await self._client()
        found: set[str] = set()
        with self._backend.errors():
            async for name in client.scan_iter(match=self._keys.sessions_pattern, count=1000):
                project = self._keys.project_of(name)
                if project is not None and (after is None or project > after):
                    found.add(project)
        return sorted(found)[:limit]

    async def _run_append(self, keys: Sequence[str], args: list[str | int]) -> int | list[Any]:
        """Run the append script (``EVALSHA``, loading it again after a server restart):
        a count, or a refusal with the engine's state (see ``APPEND_LUA``)."""
        scripts = self._backend.scripts(SessionScripts.register)
        reply = await self._backend.run_script(scripts.append, keys, args)
        return reply if isinstance(reply, list) else int(reply)

    # -- append ----------------------------------------------------------------------

    async def _append(self, key: SessionKey, batch: Sequence[EncodedEntry]) -> None:
        client = await self._client()
        keys = self._script_keys(key)
        # Same id on every attempt: only an applied attempt records it.
        head: list[str | int] = [uuid.uuid4().hex, key.session_id, key.subpath or ""]
        folds = key.is_main and self.offers_summaries
        # The first attempt guesses: the summary this store wrote last, or none at all.
        guess = self._written.pop(key, "") if folds else None
        snapshot: tuple[str, str] | None = None  # (summary, membership) a refusal returned
        with self._backend.errors():
            for attempt in range(MAX_ATTEMPTS):
                tail: list[str] | None
                if guess is not None:
                    tail = self._fold_remembered(key, guess, batch)
                elif folds:
                    if snapshot is None:
                        snapshot = await self._read_snapshot(client, key, batch)
                    tail = self._fold_snapshot(key, batch, *snapshot)
                else:
                    tail = ["dedupe", "", "", *_entry_args(batch, _NONE_STORED)]
                if tail is None:
                    return
                mtime = now_ms()
                reply = await self._run_append(keys, [*head, mtime, *tail])
                if not isinstance(reply, list):  # stored, nothing to store, or replayed
                    if folds and reply != 0 and tail[2]:
                        self._remember(key, f"{mtime}:{tail[2]}")
                    elif guess:  # nothing written: the guess is as good as it was
                        self._remember(key, guess)
                    return
                refused_guess, guess = guess is not None, None
                if refused_guess:
                    # Stale, not a race: fold at once from what the script found.
                    snapshot = (_text(reply[1]), _text(reply[2]))
                    continue
                snapshot = None  # a race: pause, then read the engine again
                # Jittered, growing pause so racing writers stop colliding.
                await anyio.sleep(random.uniform(0, min(0.05, 0.0005 * 2 ** min(attempt, 10))))
        raise ConflictError(
            f"redis: append to {key.as_dict()} lost {MAX_ATTEMPTS} compare-and-set rounds "
            "to concurrent writers",
            project_key=key.project_key,
            session_id=key.session_id,
        )

    def _fold_remembered(
        self, key: SessionKey, remembered: str, batch: Sequence[EncodedEntry]
    ) -> list[str]:
        """The script's ``cas`` arguments, folded from a guess: the summary this store last
        wrote, or ``""`` (none stored, nor any of the batch's uuids: a new session)."""
        previous = _split_summary(remembered) if remembered else None
        summary = self.fold_summary(key, previous, batch)
        return ["cas", remembered, summary or "", *_entry_args(batch, _NONE_STORED)]

    def _script_keys(self, key: SessionKey) -> tuple[str, ...]:
        """The append script's KEYS for ``key``, built once per transcript (the most recent
        ``MAX_REMEMBERED_SUMMARIES`` are kept)."""
        keys = self._script_keys_of.get(key)
        if keys is None:
            transcript, project = self._keys.transcript(key), self._keys.project(key.project_key)
            keys = (*attrs.astuple(transcript), *attrs.astuple(project), self._keys.subpaths(key))
            if len(self._script_keys_of) >= MAX_REMEMBERED_SUMMARIES:
                del self._script_keys_of[next(iter(self._script_keys_of))]  # the oldest
            self._script_keys_of[key] = keys
        return keys

    def _remember(self, key: SessionKey, stored_summary: str) -> None:
        if len(self._written) >= MAX_REMEMBERED_SUMMARIES:
            del self._written[next(iter(self._written))]  # the oldest
        self._written[key] = stored_summary

    async def _read_snapshot(
        self, client: Redis, key: SessionKey, batch: Sequence[EncodedEntry]
    ) -> tuple[str, str]:
        """The stored summary (``""`` = none) and the batch's membership string.

        The two reads need not be one snapshot: the script re-checks both values
        before it writes anything.
        """
        uuids = [item.uuid for item in batch if item.uuid is not None]
        async with client.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.project(key.project_key).summaries, key.session_id)
            if uuids:
                pipe.smismember(self._keys.transcript(key).uuids, uuids)
            previous, *known = await pipe.execute()
        hits = iter(known[0] if known else [])
        marks = ["0" if item.uuid is None or not next(hits) else "1" for item in batch]
        return ("" if previous is None else _text(previous)), "".join(marks)

    def _fold_snapshot(
        self, key: SessionKey, batch: Sequence[EncodedEntry], previous: str, membership: str
    ) -> list[str] | None:
        """The script's ``cas`` arguments after folding the entries not stored yet, from a
        snapshot (the stored summary, '1' per entry whose uuid is stored); None when
        every entry is stored already."""
        stored = {
            item.uuid
            for item, mark in zip(batch, membership, strict=True)
            if mark == "1" and item.uuid is not None
        }
        fresh = [item for item in batch if item.uuid not in stored]
        if not fresh:
            return None
        summary = self.fold_summary(key, _split_summary(previous) if previous else None, fresh)
        return ["cas", previous, summary or "", *_entry_args(batch, stored)]

    # -- reads -----------------------------------------------------------------------

    async def _read(self, key: SessionKey, after: int, limit: int) -> list[tuple[int, str]]:
        client = await self._client()
        with self._backend.errors():
            texts = await client.lrange(self._keys.transcript(key).log, after, after + limit - 1)
        return [(after + i, _text(text)) for i, text in enumerate(texts, start=1)]

    async def _read_tail(self, key: SessionKey, count: int) -> list[tuple[int, str]]:
        client = await self._client()
        log = self._keys.transcript(key).log
        with self._backend.errors():
            # MULTI/EXEC: the length and the slice come from the same moment.
            async with client.pipeline(transaction=True) as pipe:
                pipe.llen(log)
                pipe.lrange(log, -count, -1)
                length, texts = await pipe.execute()
        first = int(length) - len(texts) + 1
        return [(first + i, _text(text)) for i, text in enumerate(texts)]

    async def _count(self, key: SessionKey) -> int:
        client = await self._client()
        with self._backend.errors():
            return int(await client.llen(self._keys.transcript(key).log))

    async def _sessions(
        self, project_key: str, after: str | None, limit: int | None
    ) -> list[SessionListing]:
        client = await self._client()
        project = self._keys.project(project_key)
        with self._backend.errors():
            if after is None and limit is None:
                mtimes = await client.hgetall(project.mtimes)
                return sorted(
                    (SessionListing(_text(sid), int(m)) for sid, m in mtimes.items()),
                    key=lambda listing: listing.session_id,
                )
            start = "-" if after is None else f"({after}"
            page = await client.zrange(
                project.sessions, start, "+", bylex=True, offset=0 if limit else None, num=limit
            )
            ids = [_text(session_id) for session_id in page]
            if not ids:
                return []
            values = await client.hmget(project.mtimes, ids)
        # A session deleted between the two reads has no mtime any more: leave it out.
        return [
            SessionListing(sid, int(m)) for sid, m in zip(ids, values, strict=True) if m is not None
        ]

    async def _summaries(self, project_key: str) -> list[SessionSummary]:
        client = await self._client()
        with self._backend.errors():
            stored = await client.hgetall(self._keys.project(project_key).summaries)
        summaries = []
        for session_id, value in stored.items():
            mtime, data = _split_summary(_text(value))
            summaries.append(SessionSummary(_text(session_id), mtime, json.loads(data)))
        return summaries

    async def _subkeys(self, key: SessionKey) -> list[str]:
        client = await self._client()
        with self._backend.errors():
            members = await client.smembers(self._keys.subpaths(key))
        return sorted(_text(member) for member in members)

    # -- delete ----------------------------------------------------------------------

    async def _delete(self, key: SessionKey) -> None:
        client = await self._client()
        self._written.pop(key, None)
        with self._backend.errors():
            if not key.is_main:
                await self._delete_subkey(client, key)
                return
            for _ in range(MAX_ATTEMPTS):
                if await self._try_delete_session(client, key):
                    return
                await anyio.sleep(random.uniform(0, 0.005))
        raise ConflictError(
            f"redis: delete of {key.as_dict()} kept losing to concurrent writers",
            project_key=key.project_key,
            session_id=key.session_id,
        )

    async def _delete_subkey(self, client: Redis, key: SessionKey) -> None:
        assert key.subpath is not None
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(*attrs.astuple(self._keys.transcript(key)))
            pipe.srem(self._keys.subpaths(key), key.subpath)
            await pipe.execute()

    async def _try_delete_session(self, client: Redis, key: SessionKey) -> bool:
        """Delete a session and all its subkeys; False if a subkey appeared meanwhile."""
        subpaths_key = self._keys.subpaths(key)
        project = self._keys.project(key.project_key)
        async with client.pipeline(transaction=True) as pipe:
            try:
                # A subkey append adds to this set, so EXEC fails rather than leave it behind.
                await pipe.watch(subpaths_key)
                subpaths = await pipe.smembers(subpaths_key)
                doomed = [subpaths_key]
                for subpath in [None, *map(_text, subpaths)]:
                    subkey = SessionKey(key.project_key, key.session_id, subpath)
                    doomed += attrs.astuple(self._keys.transcript(subkey))
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.delete(*doomed)
                pipe.zrem(project.sessions, key.session_id)
                pipe.hdel(project.mtimes, key.session_id)
                pipe.hdel(project.summaries, key.session_id)
                await pipe.execute()
            except redis.exceptions.WatchError as exc:
                if isinstance(exc.__context__, _CONNECTION_ERRORS):
                    raise exc.__context__ from exc
                return False
        return True


def _entry_args(batch: Sequence[EncodedEntry], stored: AbstractSet[str]) -> list[str]:
    """The script's expected membership string, then ``(uuid, text)`` per entry."""
    if not stored:  # nothing expected stored: an empty string reads as all '0'
        args = [""]
        for item in batch:
            args += (item.uuid or "", item.text)
        return args
    flags: list[str] = []
    pairs: list[str] = []
    for item in batch:
        known = item.uuid in stored
        flags.append("1" if known else "0")
        # A stored entry's text is not needed by the script.
        pairs += (item.uuid or "", "" if known else item.text)
    return ["".join(flags), *pairs]


def _split_summary(value: str) -> tuple[int, str]:
    mtime, _, data = value.partition(":")
    return int(mtime), data
