"""The run store on Redis: every write one Lua script over the namespace's run keys."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence

from kode_core import ConflictError
from kode_core.runs import ApprovalRow, RunMerge, RunOptions, RunRow, RunStore, StoredRun

from .._backend import RedisBackend
from .._options import RedisOptions
from .._threads.access import ConversationAccess, stored_run
from .._threads.schema import RUNS, padded

#: Updates lost to a concurrent update of the same run before giving up.
MAX_ATTEMPTS = 100


def _approval_args(approvals: Sequence[ApprovalRow]) -> list[str]:
    args: list[str] = []
    for a in approvals:
        decision = "" if a.decision is None else f"{a.decision}:{a.resolved_ms}"
        args += [a.tool_call_id, json.dumps([a.run_id, a.position, a.body]), decision]
    return args


class RedisRunStore(RunStore):
    """Runs on Redis. A claim is one script that removes the approval from the pending
    hash and records the decision: only the caller whose ``HDEL`` removed it wins.
    ``update_run`` is compare-and-set on the run's body, so it never undoes a claim."""

    def __init__(self, backend: RedisBackend, options: RedisOptions, settings: RunOptions) -> None:
        super().__init__(options, settings)
        backend.refuse_on_cluster("runs")  # its scripts still span hash slots
        self._use_schema(backend, RUNS)
        self._access = ConversationAccess(backend, options.namespace, RUNS)

    def __repr__(self) -> str:
        return f"<RedisRunStore namespace={self.namespace!r} backend={self._access.backend!r}>"

    async def _insert_run(self, row: RunRow, approvals: Sequence[ApprovalRow]) -> None:
        args = [
            row.run_id,
            row.thread_id,
            row.agent_name,
            row.body,
            json.dumps([row.thread_id, row.agent_name]),
            f"{row.thread_id}\0{padded(row.created_ms)}\0{row.run_id}",
            *_approval_args(approvals),
        ]
        done = int(await self._access.run("create_run", args))
        if done == -1:
            raise ConflictError(f"run {row.run_id!r} exists", run_id=row.run_id)
        if done == -2:
            raise ConflictError(f"a tool call id of run {row.run_id!r} is stored already")

    async def _update_run(
        self, run_id: str, merge: RunMerge, approvals: Sequence[ApprovalRow] | None
    ) -> StoredRun | None:
        replace = ["0"] if approvals is None else ["1", *_approval_args(approvals)]
        for _ in range(MAX_ATTEMPTS):
            stored = await self._load_run(run_id)
            if stored is None:
                return None
            row = merge(stored.body)
            done = int(
                await self._access.run("update_run", [run_id, stored.body, row.body, *replace])
            )
            if done == 0:
                return None
            if done == -2:
                raise ConflictError(f"a new tool call id of run {run_id!r} belongs to another run")
            if done == 1:
                return await self._load_run(run_id)
        raise ConflictError(f"run {run_id!r} kept changing: update not applied", run_id=run_id)

    async def _load_run(self, run_id: str) -> StoredRun | None:
        reply = await self._access.run("load_run", [run_id])
        return None if not reply else stored_run(reply)

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        return [stored_run(item) for item in await self._access.run("thread_runs", [thread_id])]

    async def _pending_run(self, tool_call_id: str) -> StoredRun | None:
        reply = await self._access.run("pending_run", [tool_call_id])
        return None if not reply else stored_run(reply)

    async def _claim_approval(self, tool_call_id: str, decision: str, resolved_ms: int) -> bool:
        args = [tool_call_id, f"{decision}:{resolved_ms}"]
        return int(await self._access.run("claim", args)) == 1

    async def _append_score(self, run_id: str, created_ms: int, body: str) -> None:
        await self._access.run("add_score", [run_id, body])

    async def _scores(self, run_id: str) -> builtins.list[str]:
        return [str(body) for body in await self._access.run("scores", [run_id])]
