"""Group append: a store's concurrent appends at remembered heads share one statement.

An append at a known head is one statement (``append_at_heads``), and most of its cost,
on the client (psycopg) and on the server (parse, plan, commit), is per statement, not
per entry. So the append that finds no statement of its store running leads: it sends
every append queued so far, for distinct keys, in one statement, and each learns
whether its own batch went in. The statement stores each member's batch whole or not
at all, independently of the others (a member whose head moved, or whose batch holds a
stored uuid, is simply not stored and takes the locking path on its own).

If the statement fails, no member is stored. A member of a group of several then runs
again alone, so that an error is only ever its own, except when the connection broke:
the outcome is then unknown, exactly as for an append that ran alone, and every member
raises the error. After its group, a leader hands the lead to the first append queued
meanwhile: no caller serves others for longer than one group. One group runs at a
time: the callers it answers append again together, in the next one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

import anyio
import anyio.lowlevel
import attrs

from kode_core import BackendUnavailableError

#: At most this many appends share one statement (bounds its size and latency).
MAX_GROUP = 64


@attrs.define(eq=False)
class GroupCall:
    """One queued append: what the statement needs of it and, once run, its outcome."""

    key: Hashable
    member: Any  # what the statement's runner reads: the store's own record
    done: anyio.Event = attrs.field(factory=anyio.Event)
    taken: bool = False  # part of a running group: its outcome is coming
    lead: bool = False  # handed the lead: it runs the next group
    outcome: Any = None
    alone: bool = False  # its group failed: run it again on its own
    error: BaseException | None = None


#: Runs one group's statement: each member's outcome, in order.
RunGroup = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]


class GroupAppend:
    """Runs the head appends of concurrent callers together (see the module doc)."""

    def __init__(self, run_group: RunGroup) -> None:
        self._run_group = run_group
        self._queue: list[GroupCall] = []
        self._leading = False

    async def run(self, key: Hashable, member: Any) -> Any:
        """Run ``member``'s append, with those of other callers queued meanwhile; its
        outcome as the statement's runner gives it. Raises the error of its statement."""
        call = GroupCall(key, member)
        self._queue.append(call)
        if self._leading:
            await self._wait_turn(call)
            if not call.lead:
                return await self._outcome(call)
        else:
            self._leading = True
            # Let the callers that are ready to run (e.g. those the last group just
            # answered, about to append again) queue first: they join this group.
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
        group = self._take()
        try:
            with anyio.CancelScope(shield=True):
                await self._run(group)
        finally:
            for other in group:
                other.done.set()
            self._pass_lead()
        return await self._outcome(call)

    def _take(self) -> list[GroupCall]:
        """The queued calls for distinct keys, oldest first (at most :data:`MAX_GROUP`);
        a second call for a key waits for the next group, which sees the first's head."""
        group: list[GroupCall] = []
        keys: set[Hashable] = set()
        left: list[GroupCall] = []
        for call in self._queue:
            if len(group) < MAX_GROUP and call.key not in keys:
                keys.add(call.key)
                call.taken = True
                group.append(call)
            else:
                left.append(call)
        self._queue = left
        return group

    async def _run(self, group: list[GroupCall]) -> None:
        try:
            outcomes = await self._run_group([call.member for call in group])
        except BaseException as exc:
            alone = (
                len(group) > 1
                and isinstance(exc, Exception)
                and not isinstance(exc, BackendUnavailableError)
            )
            for call in group:
                call.alone, call.error = alone, None if alone else exc
            if not isinstance(exc, Exception):
                raise
            return
        for call, outcome in zip(group, outcomes, strict=True):
            call.outcome = outcome

    async def _outcome(self, call: GroupCall) -> Any:
        if call.alone:
            [outcome] = await self._run_group([call.member])
            return outcome
        if call.error is not None:
            raise call.error
        return call.outcome

    def _pass_lead(self) -> None:
        if self._queue:
            head = self._queue[0]
            head.lead = True
            head.done.set()
        else:
            self._leading = False

    async def _wait_turn(self, call: GroupCall) -> None:
        try:
            await call.done.wait()
        except anyio.get_cancelled_exc_class():
            if call.taken:
                # Its statement is running: wait for its outcome, then stop.
                with anyio.CancelScope(shield=True):
                    await call.done.wait()
            else:
                self._queue.remove(call)
                if call.lead:
                    self._pass_lead()
            raise
