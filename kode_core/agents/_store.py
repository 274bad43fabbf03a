"""The agent runtime store contract (the KODE SDK's ``Store``) and its shared behaviour.

Three layers, each a base class a backend derives from (every kode backend
implements all three, so it derives from :class:`~kode_core.ExtendedAgentStore`):

- :class:`AgentStore`: runtime state, the event timeline, history, media cache,
  snapshots, info, lifecycle;
- :class:`~kode_core.QueryableAgentStore`: queries and statistics;
- :class:`~kode_core.ExtendedAgentStore`: health, consistency, metrics, the
  distributed lock, fork.

The public methods validate and encode everything before any I/O (an
:class:`~kode_core.InvalidRecordError` names the field at fault and nothing is
written), count the operation for :meth:`~kode_core.ExtendedAgentStore.metrics`,
and call the underscore primitives a backend implements, each atomic in its engine.
"""

from __future__ import annotations

import abc
import builtins
import secrets
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from .._clock import now_ms
from .._errors import ConflictError, InvalidRecordError
from .._options import BackendOptions
from .._record_codec import Record, check_count, choice, to_ms
from .._store import Store
from .._text import MAX_JSON_DEPTH, unencodable, utf8_size
from ._options import AgentOptions
from ._owned import changes
from ._records import (
    AgentInfo,
    Bookmark,
    CompressionRecord,
    EventChannel,
    HistoryWindow,
    MediaCacheRecord,
    Message,
    RecoveredFile,
    Snapshot,
    Timeline,
    TodoSnapshot,
    ToolCallRecord,
)
from ._results import MetricsRecorder
from ._rows import Doc, DocFamily, InfoRow, MessageRow, ToolCallRow, digest
from ._seen import SeenList, SeenLists, digests_after, plan_save

_R = TypeVar("_R", bound=Record)

MAX_AGENT_ID_LENGTH = 512
DEFAULT_EVENT_PAGE = 500
_CHANNEL = choice(EventChannel)


def check_agent_id(value: object, name: str = "agent_id") -> str:
    """``value`` if it is a usable agent id: a non-empty string without NUL, at most 512 chars."""
    if not isinstance(value, str):
        raise InvalidRecordError(name, f"must be a string, got {type(value).__name__}")
    if not value or len(value) > MAX_AGENT_ID_LENGTH or "\x00" in value:
        raise InvalidRecordError(
            name, f"must be 1 to {MAX_AGENT_ID_LENGTH} characters without NUL, got {value!r}"
        )
    problem = unencodable(value)
    if problem:
        raise InvalidRecordError(name, problem)
    return value


def event_conflict(agent_id: str, seq: int) -> ConflictError:
    """The error for an event whose ``seq`` is already stored with another body."""
    return ConflictError(
        f"agent {agent_id!r} already has a different event at seq {seq}",
        agent_id=agent_id,
        seq=seq,
    )


def _check_list(value: object, name: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InvalidRecordError(name, f"must be a list, got {type(value).__name__}")
    return value


class AgentStore(Store):
    """Everything an agent runtime persists, per agent id, on one engine.

    Every method raises :class:`~kode_core.InvalidRecordError` for bad input
    before writing anything, and :class:`~kode_core.BackendUnavailableError` when
    the engine cannot be reached. Lists saved whole are replaced atomically.
    """

    def __init__(self, options: BackendOptions, settings: AgentOptions) -> None:
        super().__init__(options)
        self._max_record_bytes = settings.max_entry_bytes
        self._metrics = MetricsRecorder()
        self._seen = SeenLists()

    # -- encoding shared by every method ---------------------------------------------

    def _encode(self, record: Record, path: str) -> str:
        try:
            text = record.to_json()
        except RecursionError:
            raise InvalidRecordError(
                path, f"is nested deeper than {MAX_JSON_DEPTH} levels"
            ) from None
        except (TypeError, ValueError) as exc:  # JSON values changed in place after a check
            raise InvalidRecordError(path, f"is not JSON: {exc}") from None
        size = utf8_size(text)
        if size is None:
            raise InvalidRecordError(path, f"holds a string that {unencodable(text)}")
        if size > self._max_record_bytes:
            raise InvalidRecordError(
                path, f"is {size} bytes of JSON, over the limit of {self._max_record_bytes} bytes"
            )
        return text

    def _coerce(self, cls: type[_R], value: object, path: str) -> tuple[_R, str]:
        item = cls.coerce(value, path)
        return item, self._encode(item, path)

    @staticmethod
    def _decode(cls: type[_R], text: str) -> _R:
        return cls.from_stored(text)  # this store encoded it from a checked record

    # -- runtime state ----------------------------------------------------------------

    async def save_messages(
        self, agent_id: str, messages: Sequence[Message | Mapping[str, Any]]
    ) -> None:
        """Replace the agent's conversation with ``messages``, atomically.

        Only the messages that changed are written; a message kept from the last
        save keeps the time it was first stored (what message queries filter on).
        A message record this store saved before at the same position is not
        encoded again (the store keeps its text, and its JSON values: see
        :mod:`kode_core.agents._seen`), so saving one more costs one message.
        """
        agent_id = check_agent_id(agent_id)
        values = _check_list(messages, "messages")
        count = changes()  # before encoding: a change made meanwhile drops what is kept
        seen = self._seen.take(agent_id, count)
        created = now_ms()
        plan = plan_save(values, seen, created, self._encode)
        token = secrets.token_hex(8) if self._patches_messages else None
        written: int | None = None
        with self._metrics.timed("saves"):
            if seen is not None and not plan.whole:
                if not plan.changed and len(values) == len(seen.rows):
                    token = seen.token  # nothing to write: the list keeps its token
                written = await self._save_messages(
                    agent_id, plan.changed, base=seen.token, token=token, length=len(values)
                )
            if written is None:
                rows = [
                    r
                    if r.created_ms == created
                    else MessageRow(r.position, r.digest, r.body, r.role, r.content_types, created)
                    for r in plan.rows
                ]
                written = await self._save_messages(
                    agent_id, rows, base=None, token=token, length=len(values)
                )
                digests = Counter(row.digest for row in rows)
            else:
                assert seen is not None  # a patch was written
                digests = digests_after(seen, plan)
            self._metrics.count_rows(written or 0)
        self._seen.keep(agent_id, SeenList(token, count, plan.objects, plan.rows, digests))

    async def load_messages(self, agent_id: str) -> builtins.list[Message]:
        """The agent's conversation in order (empty if none was saved)."""
        agent_id = check_agent_id(agent_id)
        with self._metrics.timed("loads"):
            bodies = await self._load_messages(agent_id)
        return [self._decode(Message, body) for body in bodies]

    async def save_tool_call_records(
        self, agent_id: str, records: Sequence[ToolCallRecord | Mapping[str, Any]]
    ) -> None:
        """Replace the agent's tool-call records atomically; ids must be unique."""
        agent_id = check_agent_id(agent_id)
        rows: builtins.list[ToolCallRow] = []
        seen: set[str] = set()
        for index, value in enumerate(_check_list(records, "tool_call_records")):
            path = f"tool_call_records[{index}]"
            record, body = self._coerce(ToolCallRecord, value, path)
            if record.id in seen:
                raise InvalidRecordError(f"{path}.id", f"repeats the id {record.id!r}")
            seen.add(record.id)
            rows.append(
                ToolCallRow(
                    position=index,
                    id=record.id,
                    name=record.name,
                    state=record.state.value,
                    is_error=bool(record.is_error),
                    has_approval=record.approval.required,
                    created_ms=to_ms(record.created_at),
                    updated_ms=to_ms(record.updated_at),
                    digest=digest(f"{index}:{body}"),
                    body=body,
                )
            )
        with self._metrics.timed("saves"):
            self._metrics.count_rows(await self._replace_tool_calls(agent_id, rows))

    async def load_tool_call_records(self, agent_id: str) -> builtins.list[ToolCallRecord]:
        """The agent's tool-call records in saved order."""
        agent_id = check_agent_id(agent_id)
        with self._metrics.timed("loads"):
            bodies = await self._load_tool_calls(agent_id)
        return [self._decode(ToolCallRecord, body) for body in bodies]

    async def save_todos(self, agent_id: str, snapshot: TodoSnapshot | Mapping[str, Any]) -> None:
        """Replace the agent's todo list."""
        agent_id = check_agent_id(agent_id)
        todos, body = self._coerce(TodoSnapshot, snapshot, "todos")
        await self._save_doc(agent_id, DocFamily.TODOS, Doc("", to_ms(todos.updated_at), body))

    async def load_todos(self, agent_id: str) -> TodoSnapshot | None:
        """The agent's todo list, or None if none was saved."""
        return await self._load_doc(check_agent_id(agent_id), DocFamily.TODOS, "", TodoSnapshot)

    # -- events -------------------------------------------------------------------------

    async def append_event(self, agent_id: str, timeline: Timeline | Mapping[str, Any]) -> None:
        """Store one timeline entry under its ``bookmark.seq``.

        Appending the same (agent, seq) with the same body again is a no-op; with
        a different body it raises :class:`~kode_core.ConflictError`.
        """
        agent_id = check_agent_id(agent_id)
        entry, body = self._coerce(Timeline, timeline, "timeline")
        with self._metrics.timed("events"):
            await self._append_event(agent_id, entry.bookmark.seq, entry.event.channel.value, body)

    def read_events(
        self,
        agent_id: str,
        *,
        since: Bookmark | Mapping[str, Any] | int | None = None,
        channel: EventChannel | str | None = None,
        page_size: int = DEFAULT_EVENT_PAGE,
    ) -> AsyncIterator[Timeline]:
        """The agent's events in ``seq`` order across channels, read a page at a time.

        Only events with ``seq > since.seq`` (``since`` may be a bookmark or a seq),
        and only ``channel``'s when it is given. Arguments are checked at the call.
        """
        agent_id = check_agent_id(agent_id)
        if since is None:
            after = -1
        elif isinstance(since, int) and not isinstance(since, bool):
            after = check_count("since", since)
        else:
            after = Bookmark.coerce(since, "since").seq
        wanted = None if channel is None else _CHANNEL.decode(channel, "channel").value
        page_size = check_count("page_size", page_size, 1)
        return self._iter_events(agent_id, after, wanted, page_size)

    async def _iter_events(
        self, agent_id: str, after: int, channel: str | None, page_size: int
    ) -> AsyncIterator[Timeline]:
        pages = self._event_pages(agent_id, after, channel, page_size)
        try:
            while True:
                with self._metrics.timed("loads"):
                    page = await anext(pages, None)
                if page is None:
                    return
                for body in page:
                    yield self._decode(Timeline, body)
        finally:
            await pages.aclose()

    # -- history, media, snapshots --------------------------------------------------------

    async def save_history_window(
        self, agent_id: str, window: HistoryWindow | Mapping[str, Any]
    ) -> None:
        """Store a history window (upsert by its id)."""
        agent_id = check_agent_id(agent_id)
        item, body = self._coerce(HistoryWindow, window, "history_window")
        await self._save_doc(
            agent_id, DocFamily.HISTORY_WINDOWS, Doc(item.id, to_ms(item.timestamp), body)
        )

    async def load_history_windows(self, agent_id: str) -> builtins.list[HistoryWindow]:
        """The agent's history windows by timestamp."""
        return await self._load_docs(
            check_agent_id(agent_id), DocFamily.HISTORY_WINDOWS, HistoryWindow
        )

    async def save_compression_record(
        self, agent_id: str, record: CompressionRecord | Mapping[str, Any]
    ) -> None:
        """Store a compression record (upsert by its id)."""
        agent_id = check_agent_id(agent_id)
        item, body = self._coerce(CompressionRecord, record, "compression_record")
        doc = Doc(item.id, to_ms(item.timestamp), body)
        await self._save_doc(agent_id, DocFamily.COMPRESSION_RECORDS, doc)

    async def load_compression_records(self, agent_id: str) -> builtins.list[CompressionRecord]:
        """The agent's compression records by timestamp."""
        family = DocFamily.COMPRESSION_RECORDS
        return await self._load_docs(check_agent_id(agent_id), family, CompressionRecord)

    async def save_recovered_file(
        self, agent_id: str, file: RecoveredFile | Mapping[str, Any]
    ) -> None:
        """Store a recovered file (upsert by path and timestamp)."""
        agent_id = check_agent_id(agent_id)
        item, body = self._coerce(RecoveredFile, file, "recovered_file")
        stamp = to_ms(item.timestamp)
        doc = Doc(f"{stamp:015d}:{item.path}", stamp, body)
        await self._save_doc(agent_id, DocFamily.RECOVERED_FILES, doc)

    async def load_recovered_files(self, agent_id: str) -> builtins.list[RecoveredFile]:
        """The agent's recovered files by timestamp."""
        return await self._load_docs(
            check_agent_id(agent_id), DocFamily.RECOVERED_FILES, RecoveredFile
        )

    async def save_media_cache(
        self, agent_id: str, records: Sequence[MediaCacheRecord | Mapping[str, Any]]
    ) -> None:
        """Replace the agent's media cache atomically; ids must be unique."""
        agent_id = check_agent_id(agent_id)
        docs: builtins.list[Doc] = []
        seen: set[str] = set()
        for index, value in enumerate(_check_list(records, "media_cache")):
            path = f"media_cache[{index}]"
            item, body = self._coerce(MediaCacheRecord, value, path)
            if item.id in seen:
                raise InvalidRecordError(f"{path}.id", f"repeats the id {item.id!r}")
            seen.add(item.id)
            docs.append(Doc(item.id, index, body))
        with self._metrics.timed("saves"):
            await self._replace_docs(agent_id, DocFamily.MEDIA_CACHE, docs)

    async def load_media_cache(self, agent_id: str) -> builtins.list[MediaCacheRecord]:
        """The agent's media cache in saved order."""
        return await self._load_docs(
            check_agent_id(agent_id), DocFamily.MEDIA_CACHE, MediaCacheRecord
        )

    async def save_snapshot(self, agent_id: str, snapshot: Snapshot | Mapping[str, Any]) -> None:
        """Store a snapshot (upsert by its id)."""
        agent_id = check_agent_id(agent_id)
        item, body = self._coerce(Snapshot, snapshot, "snapshot")
        check_agent_id(item.id, "snapshot.id")  # so that load_snapshot can find it
        await self._save_doc(
            agent_id, DocFamily.SNAPSHOTS, Doc(item.id, to_ms(item.created_at), body)
        )

    async def load_snapshot(self, agent_id: str, snapshot_id: str) -> Snapshot | None:
        """One snapshot by id, or None."""
        agent_id = check_agent_id(agent_id)
        snapshot_id = check_agent_id(snapshot_id, "snapshot_id")  # the same rules as an id
        return await self._load_doc(agent_id, DocFamily.SNAPSHOTS, snapshot_id, Snapshot)

    async def list_snapshots(self, agent_id: str) -> builtins.list[Snapshot]:
        """The agent's snapshots by creation time."""
        return await self._load_docs(check_agent_id(agent_id), DocFamily.SNAPSHOTS, Snapshot)

    async def _save_doc(self, agent_id: str, family: DocFamily, doc: Doc) -> None:
        with self._metrics.timed("saves"):
            await self._put_doc(agent_id, family, doc)

    async def _load_doc(
        self, agent_id: str, family: DocFamily, key: str, cls: type[_R]
    ) -> _R | None:
        with self._metrics.timed("loads"):
            body = await self._get_doc(agent_id, family, key)
        return None if body is None else self._decode(cls, body)

    async def _load_docs(
        self, agent_id: str, family: DocFamily, cls: type[_R]
    ) -> builtins.list[_R]:
        with self._metrics.timed("loads"):
            bodies = await self._list_docs(agent_id, family)
        return [self._decode(cls, body) for body in bodies]

    # -- info and lifecycle -------------------------------------------------------------

    async def save_info(self, agent_id: str, info: AgentInfo | Mapping[str, Any]) -> None:
        """Store the agent's info record (upsert); its ``agent_id`` must match."""
        row = self._info_row(check_agent_id(agent_id), info)
        with self._metrics.timed("saves"):
            await self._save_info(row)

    def _info_row(self, agent_id: str, info: AgentInfo | Mapping[str, Any]) -> InfoRow:
        item, body = self._coerce(AgentInfo, info, "info")
        if item.agent_id != agent_id:
            raise InvalidRecordError("info.agent_id", f"is {item.agent_id!r}, not {agent_id!r}")
        return InfoRow(agent_id, item.template_id, to_ms(item.created_at), item.message_count, body)

    async def load_info(self, agent_id: str) -> AgentInfo | None:
        """The agent's info record, or None."""
        agent_id = check_agent_id(agent_id)
        with self._metrics.timed("loads"):
            body = await self._load_info(agent_id)
        return None if body is None else self._decode(AgentInfo, body)

    async def exists(self, agent_id: str) -> bool:
        """True if anything at all is stored for the agent."""
        agent_id = check_agent_id(agent_id)
        with self._metrics.timed("loads"):
            return await self._exists(agent_id)

    async def delete(self, agent_id: str) -> None:
        """Remove every record of the agent, atomically where the engine has transactions."""
        agent_id = check_agent_id(agent_id)
        self._seen.forget(agent_id)
        with self._metrics.timed("deletes"):
            await self._delete_agent(agent_id)

    async def list_agents(self, prefix: str | None = None) -> builtins.list[str]:
        """Agent ids in code point order; ``prefix`` is literal (``%``, ``*``, ``.*`` are plain)."""
        if prefix is not None and not isinstance(prefix, str):
            raise InvalidRecordError("prefix", f"must be a string or None, got {prefix!r}")
        if prefix and (problem := unencodable(prefix)):
            raise InvalidRecordError("prefix", problem)
        if prefix and "\x00" in prefix:
            raise InvalidRecordError("prefix", "must not contain NUL (no agent id does)")
        with self._metrics.timed("queries"):
            return await self._list_agents(prefix or None)

    #: The KODE SDK's name for :meth:`list_agents`.
    list = list_agents

    # -- what a backend implements --------------------------------------------------------
    # Every write primitive also records that the agent exists (for exists/list).

    #: True when the engine keeps a token per conversation: see :meth:`_save_messages`.
    _patches_messages: ClassVar[bool] = False

    async def _save_messages(
        self,
        agent_id: str,
        rows: Sequence[MessageRow],
        *,
        base: str | None,
        token: str | None,
        length: int,
    ) -> int | None:
        """Write the conversation; return the rows written or deleted.

        ``base`` None: ``rows`` is the whole list, as :meth:`_replace_messages`.
        Otherwise ``rows`` are the changed positions of a list of ``length``
        messages, to write (and positions from ``length`` on to delete) only if the
        engine's token for the agent's list is still ``base``; return None if not.
        An engine with :attr:`_patches_messages` sets the token to ``token`` on each
        write, and every other write of the list (replace, fork, delete) changes or
        clears it. The default, for an engine without a token, never patches.
        """
        if base is not None:
            return None
        return await self._replace_messages(agent_id, rows)

    @abc.abstractmethod
    async def _replace_messages(self, agent_id: str, rows: Sequence[MessageRow]) -> int:
        """Atomically make ``rows`` the agent's messages, writing only :func:`plan_replace`'s
        changes (read the stored ``position -> (digest, created_ms)`` in the same
        transaction or script). Return the number of rows written or deleted."""

    @abc.abstractmethod
    async def _load_messages(self, agent_id: str) -> builtins.list[str]:
        """Message bodies by position."""

    @abc.abstractmethod
    async def _replace_tool_calls(self, agent_id: str, rows: Sequence[ToolCallRow]) -> int:
        """As :meth:`_replace_messages`, keyed by tool-call id. Return rows written or deleted."""

    @abc.abstractmethod
    async def _load_tool_calls(self, agent_id: str) -> builtins.list[str]:
        """Tool-call bodies by position."""

    @abc.abstractmethod
    async def _put_doc(self, agent_id: str, family: DocFamily, doc: Doc) -> None:
        """Upsert one document by ``(agent_id, family, doc.key)``."""

    @abc.abstractmethod
    async def _replace_docs(self, agent_id: str, family: DocFamily, docs: Sequence[Doc]) -> None:
        """Atomically make ``docs`` the agent's documents of ``family``."""

    @abc.abstractmethod
    async def _get_doc(self, agent_id: str, family: DocFamily, key: str) -> str | None:
        """One document's body, or None."""

    @abc.abstractmethod
    async def _list_docs(self, agent_id: str, family: DocFamily) -> builtins.list[str]:
        """Bodies of the family's documents ordered by ``(sort_ms, key)``."""

    @abc.abstractmethod
    async def _append_event(self, agent_id: str, seq: int, channel: str, body: str) -> None:
        """Insert the event; same body at that seq: no-op; another body: ConflictError."""

    @abc.abstractmethod
    async def _read_events(
        self, agent_id: str, after: int, channel: str | None, limit: int
    ) -> builtins.list[tuple[int, str]]:
        """Up to ``limit`` ``(seq, body)`` with ``seq > after`` (in ``channel`` if set), by seq."""

    async def _event_pages(
        self, agent_id: str, after: int, channel: str | None, page_size: int
    ) -> AsyncGenerator[builtins.list[str], None]:
        """:meth:`read_events`' bodies, a page of at most ``page_size`` at a time, those
        with ``seq > after`` (in ``channel`` if set) in seq order; no empty page.

        One :meth:`_read_events` per page. An engine overrides this where one query's
        cursor costs far less than a range query per page (MongoDB-compatible servers)
        or where a page's bodies come without building a ``(seq, body)`` pair per row
        (Redis: ~5% of a 10,000-event read).
        """
        while True:
            page = await self._read_events(agent_id, after, channel, page_size)
            if page:
                yield [body for _, body in page]
            if len(page) < page_size:
                return
            after = page[-1][0]

    @abc.abstractmethod
    async def _save_info(self, row: InfoRow) -> None:
        """Upsert the agent's info row."""

    @abc.abstractmethod
    async def _load_info(self, agent_id: str) -> str | None:
        """The info body, or None."""

    @abc.abstractmethod
    async def _exists(self, agent_id: str) -> bool:
        """True if any record of the agent is stored."""

    @abc.abstractmethod
    async def _delete_agent(self, agent_id: str) -> None:
        """Delete every record of the agent (a no-op if there is none)."""

    @abc.abstractmethod
    async def _list_agents(self, prefix: str | None) -> builtins.list[str]:
        """Stored agent ids starting with the literal ``prefix``, in code point order."""
