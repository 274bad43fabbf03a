"""The run-state contract (Pikku's ``AIRunStateService``): runs, approvals, scores.

The public methods check every argument before any I/O (an
:class:`~kode_core.InvalidRecordError` names the field at fault and nothing is
written) and call the underscore primitives an engine implements, each atomic in
its engine. Runs are stored as rows (see :mod:`kode_core.runs._rows`).
"""

from __future__ import annotations

import abc
import builtins
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .._clock import now_ms
from .._errors import InvalidRecordError, NotFoundError
from .._options import BackendOptions
from .._record_codec import Record, choice, dumps, to_ms
from .._store import Store
from .._text import MAX_JSON_DEPTH, unencodable, utf8_size
from ..agents._store import check_agent_id
from ._options import RunOptions
from ._records import ApprovalDecision, Run, RunScore
from ._rows import ApprovalRow, RunRow, StoredRun, assemble_run, pending_rows, split_run

#: The fields :meth:`RunStore.update_run` may change.
UPDATABLE_FIELDS = frozenset(
    {"status", "error_message", "suspend_reason", "missing_rpcs", "pending_approvals", "usage"}
)
_DECISION = choice(ApprovalDecision)

#: ``merge(current body) -> new row``: what an engine applies under its lock in update_run.
RunMerge = Callable[[str], RunRow]


def check_id(value: object, name: str) -> str:
    """``value`` if it is a usable id: a non-empty string without NUL, at most 512 chars."""
    return check_agent_id(value, name)


def encode_record(record: Record, path: str, limit: int) -> str:
    """``record``'s JSON, refused (naming ``path``) when not storable or over ``limit`` bytes."""
    try:
        text = record.to_json()
    except RecursionError:
        raise InvalidRecordError(path, f"is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (TypeError, ValueError) as exc:
        raise InvalidRecordError(path, f"is not JSON: {exc}") from None
    size = utf8_size(text)
    if size is None:
        raise InvalidRecordError(path, f"holds a string that {unencodable(text)}")
    if size > limit:
        raise InvalidRecordError(path, f"is {size} bytes of JSON, over the limit of {limit} bytes")
    return text


def check_ids_unique(approvals: Sequence[Any], path: str) -> None:
    """Refuse two approvals with one ``tool_call_id``."""
    seen: set[str] = set()
    for index, approval in enumerate(approvals):
        check_id(approval.tool_call_id, f"{path}[{index}].tool_call_id")
        if approval.tool_call_id in seen:
            raise InvalidRecordError(
                f"{path}[{index}].tool_call_id", f"repeats {approval.tool_call_id!r}"
            )
        seen.add(approval.tool_call_id)


class RunStore(Store):
    """Agent runs, their pending approvals and their scores, in one namespace.

    Shares its namespace's storage with the ``threads`` family: deleting a thread
    there deletes its runs and their scores. Every method raises
    :class:`~kode_core.InvalidRecordError` for bad input before writing anything and
    :class:`~kode_core.BackendUnavailableError` when the engine cannot be reached.
    """

    def __init__(self, options: BackendOptions, settings: RunOptions) -> None:
        super().__init__(options)
        self._max_bytes = settings.max_entry_bytes

    # -- runs -------------------------------------------------------------------------

    async def create_run(self, run: Run | Mapping[str, Any]) -> str:
        """Store a new run and return its ``run_id``.

        Raises :class:`~kode_core.ConflictError` if the run id exists or one of its
        approvals' ``tool_call_id`` is already stored (pending or resolved).
        """
        checked = Run.coerce(run, "run")
        for name in ("run_id", "thread_id", "resource_id", "agent_name"):
            check_id(getattr(checked, name), f"run.{name}")
        approvals = [*(checked.pending_approvals or ()), *(checked.resolved_approvals or ())]
        check_ids_unique(approvals, "run.approvals")
        encode_record(checked, "run", self._max_bytes)
        row, rows = split_run(checked, to_ms(checked.created_at), to_ms(checked.updated_at))
        await self._insert_run(row, rows)
        return checked.run_id

    async def update_run(self, run_id: str, /, **changes: Any) -> Run:
        """Change some of a run's fields (:data:`UPDATABLE_FIELDS`) and return the run.

        ``updated_at`` becomes now. Setting ``pending_approvals`` replaces the run's
        pending approvals (decisions already made stay). The change is applied
        atomically: a concurrent :meth:`resolve_approval` is never undone. Raises
        :class:`~kode_core.NotFoundError` if there is no such run,
        :class:`~kode_core.ConflictError` if a new approval's ``tool_call_id`` belongs
        to another run.
        """
        run_id = check_id(run_id, "run_id")
        fields = attrs.fields_dict(Run)
        encoded: dict[str, Any] = {}
        approvals: list[ApprovalRow] | None = None
        for name, value in changes.items():
            if name not in UPDATABLE_FIELDS:
                allowed = ", ".join(sorted(UPDATABLE_FIELDS))
                raise InvalidRecordError(f"changes.{name}", f"is not one of {allowed}")
            codec = fields[name].metadata["codec"]
            decoded = codec.decode(value, f"changes.{name}")
            if name == "pending_approvals":
                check_ids_unique(decoded or (), "changes.pending_approvals")
                approvals = pending_rows(run_id, decoded or ())
                encoded[name] = None if decoded is None else []
            else:
                encoded[name] = codec.encode(decoded)
        limit = self._max_bytes
        if len(dumps(encoded)) > limit:
            raise InvalidRecordError("changes", f"is over the limit of {limit} bytes of JSON")
        updated_ms = now_ms()

        def merge(body: str) -> RunRow:
            data = json.loads(body)
            for name, value in encoded.items():
                if value is None:
                    data.pop(name, None)
                else:
                    data[name] = value
            data["updated_at"] = updated_ms
            run = Run.from_dict(data, "run")
            row, _ = split_run(run, to_ms(run.created_at), updated_ms)
            encode_record(run, "run", limit)
            return row

        stored = await self._update_run(run_id, merge, approvals)
        if stored is None:
            raise NotFoundError(f"no run {run_id!r}", run_id=run_id)
        return assemble_run(stored)

    async def get_run(self, run_id: str) -> Run | None:
        """The run with its pending and resolved approvals, or None if there is none."""
        stored = await self._load_run(check_id(run_id, "run_id"))
        return None if stored is None else assemble_run(stored)

    async def get_runs_by_thread(self, thread_id: str) -> builtins.list[Run]:
        """The thread's runs, newest first (by ``created_at``, then ``run_id``)."""
        stored = await self._thread_runs(check_id(thread_id, "thread_id"))
        return [assemble_run(item) for item in stored]

    async def find_run_by_tool_call_id(self, tool_call_id: str) -> Run | None:
        """The run with a *pending* approval for ``tool_call_id`` (an index lookup), or None."""
        stored = await self._pending_run(check_id(tool_call_id, "tool_call_id"))
        return None if stored is None else assemble_run(stored)

    async def resolve_approval(self, tool_call_id: str, decision: ApprovalDecision | str) -> bool:
        """Claim the pending approval ``tool_call_id`` with ``decision``: True for the one
        caller that moved it from pending to resolved, False for everyone else (it was
        resolved already, or never pending).

        An atomic claim in every engine: of any number of concurrent callers, in any
        number of processes, exactly one gets True and may act on the decision. The
        run's status is left as it is.
        """
        tool_call_id = check_id(tool_call_id, "tool_call_id")
        value = _DECISION.decode(decision, "decision")
        return await self._claim_approval(tool_call_id, value.value, now_ms())

    # -- scores -----------------------------------------------------------------------

    async def save_score(self, score: RunScore | Mapping[str, Any]) -> None:
        """Add a score (scores are never replaced)."""
        checked = RunScore.coerce(score, "score")
        check_id(checked.run_id, "score.run_id")
        body = encode_record(checked, "score", self._max_bytes)
        await self._append_score(checked.run_id, to_ms(checked.created_at), body)

    async def get_scores(self, run_id: str) -> builtins.list[RunScore]:
        """The run's scores, in the order they were saved."""
        bodies = await self._scores(check_id(run_id, "run_id"))
        return [RunScore.from_stored(body) for body in bodies]

    # -- what an engine implements, each atomic ---------------------------------------

    @abc.abstractmethod
    async def _insert_run(self, row: RunRow, approvals: Sequence[ApprovalRow]) -> None:
        """Insert the run and its approval rows; ConflictError if a key exists."""

    @abc.abstractmethod
    async def _update_run(
        self, run_id: str, merge: RunMerge, approvals: Sequence[ApprovalRow] | None
    ) -> StoredRun | None:
        """Under the run's lock: write ``merge(body)``; with ``approvals``, replace the run's
        pending rows (and its rows of the same ids) by them. None if there is no run."""

    @abc.abstractmethod
    async def _load_run(self, run_id: str) -> StoredRun | None:
        """The run's body and approval rows."""

    @abc.abstractmethod
    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        """The thread's runs, newest first (created_ms desc, run_id desc)."""

    @abc.abstractmethod
    async def _pending_run(self, tool_call_id: str) -> StoredRun | None:
        """The run holding the pending approval ``tool_call_id``, found by its index."""

    @abc.abstractmethod
    async def _claim_approval(self, tool_call_id: str, decision: str, resolved_ms: int) -> bool:
        """Set the decision of the pending row ``tool_call_id``; True if this call did."""

    @abc.abstractmethod
    async def _append_score(self, run_id: str, created_ms: int, body: str) -> None:
        """Append a score row."""

    @abc.abstractmethod
    async def _scores(self, run_id: str) -> builtins.list[str]:
        """The run's score bodies in insertion order."""
