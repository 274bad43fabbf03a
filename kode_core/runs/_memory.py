"""The ``memory`` backend's run store, and the namespace data it shares with the thread store.

Threads and runs of one namespace live in one :class:`ConversationData`, so deleting
a thread deletes its runs and scores, as in every engine.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import attrs

from .._errors import ConflictError
from .._options import BackendOptions
from ..memory import MemoryBackend
from ._options import RunOptions
from ._rows import ApprovalRow, RunRow, StoredRun
from ._store import RunMerge, RunStore

#: The memory backend's layout has one version: there is nothing stored to migrate.
SCHEMA_VERSION = 1
#: The name both families' memory stores keep their shared data under.
DATA_KEY = "threads"


@attrs.define
class MemoryThread:
    """A thread's row and its messages as ``(seq, id, body)``, in sequence order."""

    resource_id: str
    created_ms: int
    updated_ms: int
    body: str
    messages: list[tuple[int, str, str]] = attrs.Factory(list)
    ids: set[str] = attrs.Factory(set)
    next_seq: int = 1


@attrs.define
class ConversationData:
    """One namespace's threads, messages, working memory, runs, approvals and scores."""

    threads: dict[str, MemoryThread] = attrs.Factory(dict)
    memory: dict[tuple[str, str], str] = attrs.Factory(dict)
    runs: dict[str, RunRow] = attrs.Factory(dict)
    approvals: dict[str, ApprovalRow] = attrs.Factory(dict)
    scores: dict[str, list[str]] = attrs.Factory(dict)

    def stored(self, run_id: str) -> StoredRun | None:
        row = self.runs.get(run_id)
        if row is None:
            return None
        rows = [a for a in self.approvals.values() if a.run_id == run_id]
        return StoredRun(row.body, rows)

    def thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        rows = [row for row in self.runs.values() if row.thread_id == thread_id]
        rows.sort(key=lambda row: (row.created_ms, row.run_id), reverse=True)
        return [s for row in rows if (s := self.stored(row.run_id)) is not None]

    def delete_runs_of(self, thread_id: str) -> None:
        doomed = {run_id for run_id, row in self.runs.items() if row.thread_id == thread_id}
        for run_id in doomed:
            del self.runs[run_id]
            self.scores.pop(run_id, None)
        for tool_call_id in [k for k, a in self.approvals.items() if a.run_id in doomed]:
            del self.approvals[tool_call_id]


def conversation_data(backend: MemoryBackend, namespace: str) -> ConversationData:
    """The namespace's data shared by the thread store and the run store."""
    return backend.namespace_data(DATA_KEY, namespace, ConversationData)


class MemoryRunStore(RunStore):
    """Runs in dictionaries of this process; no primitive awaits, so each is atomic."""

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: RunOptions
    ) -> None:
        super().__init__(options, settings)
        self._data = conversation_data(backend, options.namespace)

    def __repr__(self) -> str:
        return f"<MemoryRunStore namespace={self.namespace!r}>"

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _migrate(self) -> None:
        pass  # nothing outlives the process

    async def _insert_run(self, row: RunRow, approvals: Sequence[ApprovalRow]) -> None:
        data = self._data
        if row.run_id in data.runs:
            raise ConflictError(f"run {row.run_id!r} exists", run_id=row.run_id)
        for approval in approvals:
            if approval.tool_call_id in data.approvals:
                raise ConflictError(
                    f"tool call {approval.tool_call_id!r} is stored already",
                    tool_call_id=approval.tool_call_id,
                )
        data.runs[row.run_id] = row
        for approval in approvals:
            data.approvals[approval.tool_call_id] = approval

    async def _update_run(
        self, run_id: str, merge: RunMerge, approvals: Sequence[ApprovalRow] | None
    ) -> StoredRun | None:
        data = self._data
        row = data.runs.get(run_id)
        if row is None:
            return None
        new = merge(row.body)
        if approvals is not None:
            ids = {a.tool_call_id for a in approvals}
            for approval in approvals:
                other = data.approvals.get(approval.tool_call_id)
                if other is not None and other.run_id != run_id:
                    raise ConflictError(
                        f"tool call {approval.tool_call_id!r} belongs to run {other.run_id!r}",
                        tool_call_id=approval.tool_call_id,
                    )
            for key in [
                k
                for k, a in data.approvals.items()
                if a.run_id == run_id and (a.pending or k in ids)
            ]:
                del data.approvals[key]
            for approval in approvals:
                data.approvals[approval.tool_call_id] = approval
        data.runs[run_id] = new
        return data.stored(run_id)

    async def _load_run(self, run_id: str) -> StoredRun | None:
        return self._data.stored(run_id)

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        return self._data.thread_runs(thread_id)

    async def _pending_run(self, tool_call_id: str) -> StoredRun | None:
        approval = self._data.approvals.get(tool_call_id)
        if approval is None or not approval.pending:
            return None
        return self._data.stored(approval.run_id)

    async def _claim_approval(self, tool_call_id: str, decision: str, resolved_ms: int) -> bool:
        approval = self._data.approvals.get(tool_call_id)
        if approval is None or not approval.pending:
            return False
        self._data.approvals[tool_call_id] = attrs.evolve(
            approval, decision=decision, resolved_ms=resolved_ms
        )
        return True

    async def _append_score(self, run_id: str, created_ms: int, body: str) -> None:
        self._data.scores.setdefault(run_id, []).append(body)

    async def _scores(self, run_id: str) -> builtins.list[str]:
        return list(self._data.scores.get(run_id, ()))
