"""The thread-storage contract (Pikku's ``AIStorageService``) and the console read model.

The public methods check every argument before any I/O (an
:class:`~kode_core.InvalidRecordError` names the field at fault and nothing is
written; a batch of messages is all or nothing) and call the underscore primitives
an engine implements, each atomic in its engine.
"""

from __future__ import annotations

import abc
import builtins
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .._clock import now_ms
from .._errors import ConflictError, InvalidRecordError, NotFoundError
from .._options import BackendOptions
from .._record_codec import OBJECT, choice, dumps, to_ms
from .._store import Store
from .._text import utf8_size
from ..runs._rows import StoredRun
from ..runs._store import check_id, encode_record
from ._console import ThreadConsole
from ._options import ThreadOptions
from ._records import AgentMessage, MemoryScope, Thread
from ._rows import MessageRow, ThreadQuery, ThreadRow, check_count, check_list, thread_of

_SCOPE = choice(MemoryScope)


class ThreadStore(Store):
    """Threads, their messages and working memory in one namespace.

    Shares its namespace's storage with the ``runs`` family, so
    :meth:`delete_thread` takes the thread's runs and scores with it. Every method
    raises :class:`~kode_core.InvalidRecordError` for bad input before writing
    anything and :class:`~kode_core.BackendUnavailableError` when the engine
    cannot be reached.
    """

    def __init__(self, options: BackendOptions, settings: ThreadOptions) -> None:
        super().__init__(options)
        self._max_bytes = settings.max_entry_bytes

    @property
    def console(self) -> ThreadConsole:
        """The console's read model over this store (listing, owners filter, agent names)."""
        return ThreadConsole(self)

    # -- threads ----------------------------------------------------------------------

    async def create_thread(
        self,
        resource_id: str,
        thread_id: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Create a thread of ``resource_id`` (a fresh id unless ``thread_id`` is given).

        Raises :class:`~kode_core.ConflictError` if ``thread_id`` exists.
        """
        resource_id = check_id(resource_id, "resource_id")
        thread_id = uuid.uuid4().hex if thread_id is None else check_id(thread_id, "thread_id")
        data: dict[str, Any] = {"id": thread_id, "resource_id": resource_id}
        if title is not None:
            data["title"] = title
        if metadata is not None:
            data["metadata"] = OBJECT.decode(metadata, "metadata")
        created = now_ms()
        data["created_at"] = data["updated_at"] = created
        thread = Thread.coerce(data, "thread")
        body = encode_record(thread, "thread", self._max_bytes)
        await self._insert_thread(ThreadRow(thread_id, resource_id, created, created, body))
        return thread

    async def import_thread(
        self,
        thread: Thread | Mapping[str, Any],
        messages: Sequence[AgentMessage | Mapping[str, Any]] = (),
    ) -> bool:
        """Store a thread as it is, times included, with ``messages`` (``kode import``
        and ``kode copy`` use it); True if the thread was new.

        A thread the store holds already keeps its record and gains the messages it
        lacks, so importing twice stores everything once. ``updated_at`` is not moved.
        """
        checked = Thread.coerce(thread, "thread")
        check_id(checked.id, "thread.id")
        check_id(checked.resource_id, "thread.resource_id")
        body = encode_record(checked, "thread", self._max_bytes)
        rows = self._message_rows(messages)
        updated = to_ms(checked.updated_at)
        row = ThreadRow(checked.id, checked.resource_id, to_ms(checked.created_at), updated, body)
        try:
            await self._insert_thread(row)
            created = True
        except ConflictError:
            created = False
        if rows:
            await self._append_messages(checked.id, rows, updated)
        return created

    async def list_working_memory(self) -> builtins.list[tuple[MemoryScope, str, dict[str, Any]]]:
        """Every working memory of the namespace as ``(scope, id, data)`` (for exports)."""
        return [
            (MemoryScope(scope), id, dict(json.loads(body)))
            for scope, id, body in await self._all_memory()
        ]

    async def get_thread(self, thread_id: str) -> Thread:
        """The thread; raises :class:`~kode_core.NotFoundError` if there is none."""
        row = await self._load_thread(check_id(thread_id, "thread_id"))
        if row is None:
            raise NotFoundError(f"no thread {thread_id!r}", thread_id=thread_id)
        return thread_of(row)

    async def get_threads(self, resource_id: str) -> builtins.list[Thread]:
        """The resource's threads, newest update first."""
        rows = await self._resource_threads(check_id(resource_id, "resource_id"))
        return [thread_of(row) for row in rows]

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread with its messages, thread working memory, runs, approvals
        and scores, in one transaction where the engine has them. False if there was
        no such thread."""
        return await self._delete_thread(check_id(thread_id, "thread_id"))

    # -- messages ---------------------------------------------------------------------

    async def get_messages(
        self, thread_id: str, last_n: int | None = None, before: str | None = None
    ) -> builtins.list[AgentMessage]:
        """The thread's messages in stored order (empty for an unknown thread).

        ``before`` (a message id) keeps the messages stored before that one;
        ``last_n`` keeps the last ``n`` of them. Order is the stored sequence, never
        the timestamp, so paging back with ``before=page[0].id`` skips and repeats
        nothing. Raises :class:`~kode_core.NotFoundError` if ``before`` is not a
        message of the thread.
        """
        thread_id = check_id(thread_id, "thread_id")
        if last_n is not None:
            check_count(last_n, "last_n")
        if before is not None:
            check_id(before, "before")
        bodies = await self._load_messages(thread_id, last_n, before)
        if bodies is None:
            raise NotFoundError(
                f"no message {before!r} in thread {thread_id!r}", thread_id=thread_id
            )
        return [AgentMessage.from_stored(body) for body in bodies]

    async def save_messages(
        self, thread_id: str, messages: Sequence[AgentMessage | Mapping[str, Any]]
    ) -> None:
        """Append ``messages`` to the thread, all or nothing, in the order given.

        A message whose id the thread already holds is skipped (saving again is not an
        error), as is a repeat within the batch. Raises
        :class:`~kode_core.NotFoundError` if there is no such thread.
        """
        thread_id = check_id(thread_id, "thread_id")
        rows = self._message_rows(messages)
        if not rows:
            return
        if not await self._append_messages(thread_id, rows, now_ms()):
            raise NotFoundError(f"no thread {thread_id!r}", thread_id=thread_id)

    def _message_rows(
        self, messages: Sequence[AgentMessage | Mapping[str, Any]]
    ) -> builtins.list[MessageRow]:
        rows: list[MessageRow] = []
        for index, value in enumerate(check_list(messages, "messages")):
            path = f"messages[{index}]"
            message = AgentMessage.coerce(value, path)
            check_id(message.id, f"{path}.id")
            body = encode_record(message, path, self._max_bytes)
            rows.append(MessageRow(message.id, to_ms(message.created_at), body))
        return rows

    # -- working memory ---------------------------------------------------------------

    async def get_working_memory(self, id: str, scope: MemoryScope | str) -> dict[str, Any] | None:
        """The working memory of a thread or resource ``id``, or None if none was saved."""
        key = check_id(id, "id")
        value = _SCOPE.decode(scope, "scope")
        body = await self._load_memory(value.value, key)
        return None if body is None else dict(json.loads(body))

    async def save_working_memory(
        self, id: str, scope: MemoryScope | str, data: Mapping[str, Any]
    ) -> None:
        """Replace the working memory of a thread or resource ``id`` with ``data``."""
        key = check_id(id, "id")
        value = _SCOPE.decode(scope, "scope")
        body = dumps(OBJECT.decode(data, "data"))
        size = utf8_size(body)
        if size is None or size > self._max_bytes:
            raise InvalidRecordError(
                "data", f"is not storable JSON of at most {self._max_bytes} bytes"
            )
        await self._save_memory(value.value, key, body, now_ms())

    # -- what an engine implements, each atomic ---------------------------------------

    @abc.abstractmethod
    async def _insert_thread(self, row: ThreadRow) -> None:
        """Insert the thread; ConflictError if its id exists."""

    @abc.abstractmethod
    async def _load_thread(self, thread_id: str) -> ThreadRow | None:
        """The thread's row."""

    @abc.abstractmethod
    async def _resource_threads(self, resource_id: str) -> builtins.list[ThreadRow]:
        """The resource's threads, updated_ms desc, id desc."""

    @abc.abstractmethod
    async def _delete_thread(self, thread_id: str) -> bool:
        """Delete the thread and everything of it (messages, thread memory, runs,
        approvals, scores) atomically; False if there was no thread."""

    @abc.abstractmethod
    async def _load_messages(
        self, thread_id: str, last_n: int | None, before: str | None
    ) -> builtins.list[str] | None:
        """Message bodies by sequence (see :meth:`get_messages`); None if ``before`` is
        not a message of the thread."""

    @abc.abstractmethod
    async def _append_messages(
        self, thread_id: str, rows: Sequence[MessageRow], updated_ms: int
    ) -> bool:
        """Number and append the rows whose id the thread lacks (the first of repeats);
        set the thread's updated_ms. False (nothing written) if there is no thread."""

    @abc.abstractmethod
    async def _load_memory(self, scope: str, id: str) -> str | None:
        """The working memory's JSON."""

    @abc.abstractmethod
    async def _save_memory(self, scope: str, id: str, body: str, updated_ms: int) -> None:
        """Replace the working memory's JSON."""

    @abc.abstractmethod
    async def _all_memory(self) -> builtins.list[tuple[str, str, str]]:
        """Every working memory as ``(scope, id, JSON)``."""

    @abc.abstractmethod
    async def _list_threads(self, query: ThreadQuery) -> builtins.list[ThreadRow]:
        """The console's listing (see :class:`~kode_core.threads.ThreadQuery`)."""

    @abc.abstractmethod
    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        """The thread's runs, newest first (as the run store returns them)."""

    @abc.abstractmethod
    async def _agent_names(self) -> builtins.list[str]:
        """The distinct agent names of the namespace's runs, sorted."""
