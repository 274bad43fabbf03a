"""The ``memory`` backend's thread store: the executable reference of the contract."""

from __future__ import annotations

import bisect
import builtins
from collections.abc import Sequence

from .._errors import ConflictError
from .._options import BackendOptions
from ..memory import MemoryBackend
from ..runs._memory import SCHEMA_VERSION, MemoryThread, conversation_data
from ..runs._rows import StoredRun
from ._options import ThreadOptions
from ._rows import MessageRow, ThreadQuery, ThreadRow, owner_matches
from ._store import ThreadStore


def _row(thread_id: str, thread: MemoryThread) -> ThreadRow:
    return ThreadRow(
        thread_id, thread.resource_id, thread.created_ms, thread.updated_ms, thread.body
    )


def _newest_first(rows: list[ThreadRow]) -> list[ThreadRow]:
    return sorted(rows, key=lambda row: (row.updated_ms, row.id), reverse=True)


class MemoryThreadStore(ThreadStore):
    """Threads in dictionaries of this process; no primitive awaits, so each is atomic."""

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: ThreadOptions
    ) -> None:
        super().__init__(options, settings)
        self._data = conversation_data(backend, options.namespace)

    def __repr__(self) -> str:
        return f"<MemoryThreadStore namespace={self.namespace!r}>"

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _migrate(self) -> None:
        pass  # nothing outlives the process

    async def _insert_thread(self, row: ThreadRow) -> None:
        if row.id in self._data.threads:
            raise ConflictError(f"thread {row.id!r} exists", thread_id=row.id)
        self._data.threads[row.id] = MemoryThread(
            row.resource_id, row.created_ms, row.updated_ms, row.body
        )

    async def _load_thread(self, thread_id: str) -> ThreadRow | None:
        thread = self._data.threads.get(thread_id)
        return None if thread is None else _row(thread_id, thread)

    async def _resource_threads(self, resource_id: str) -> builtins.list[ThreadRow]:
        rows = [
            _row(thread_id, thread)
            for thread_id, thread in self._data.threads.items()
            if thread.resource_id == resource_id
        ]
        return _newest_first(rows)

    async def _delete_thread(self, thread_id: str) -> bool:
        data = self._data
        if data.threads.pop(thread_id, None) is None:
            return False
        data.memory.pop(("thread", thread_id), None)
        data.delete_runs_of(thread_id)
        return True

    async def _load_messages(
        self, thread_id: str, last_n: int | None, before: str | None
    ) -> builtins.list[str] | None:
        thread = self._data.threads.get(thread_id)
        messages = thread.messages if thread is not None else []
        end = len(messages)
        if before is not None:
            if thread is None or before not in thread.ids:
                return None
            seq = next(seq for seq, id, _ in messages if id == before)
            end = bisect.bisect_left(messages, (seq,))
        start = 0 if last_n is None else max(0, end - last_n)
        return [body for _, _, body in messages[start:end]]

    async def _append_messages(
        self, thread_id: str, rows: Sequence[MessageRow], updated_ms: int
    ) -> bool:
        thread = self._data.threads.get(thread_id)
        if thread is None:
            return False
        for row in rows:
            if row.id in thread.ids:
                continue
            thread.ids.add(row.id)
            thread.messages.append((thread.next_seq, row.id, row.body))
            thread.next_seq += 1
        thread.updated_ms = max(thread.updated_ms, updated_ms)
        return True

    async def _load_memory(self, scope: str, id: str) -> str | None:
        return self._data.memory.get((scope, id))

    async def _save_memory(self, scope: str, id: str, body: str, updated_ms: int) -> None:
        self._data.memory[(scope, id)] = body

    async def _all_memory(self) -> builtins.list[tuple[str, str, str]]:
        return [(scope, id, body) for (scope, id), body in sorted(self._data.memory.items())]

    async def _list_threads(self, query: ThreadQuery) -> builtins.list[ThreadRow]:
        data = self._data
        with_agent = None
        if query.agent_name is not None:
            with_agent = {
                r.thread_id for r in data.runs.values() if r.agent_name == query.agent_name
            }
        rows = [
            _row(thread_id, thread)
            for thread_id, thread in data.threads.items()
            if (query.resource_id is None or thread.resource_id == query.resource_id)
            and (query.owners is None or owner_matches(thread.resource_id, query.owners))
            and (with_agent is None or thread_id in with_agent)
        ]
        return _newest_first(rows)[query.offset : query.offset + query.limit]

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        return self._data.thread_runs(thread_id)

    async def _agent_names(self) -> builtins.list[str]:
        return sorted({row.agent_name for row in self._data.runs.values()})
