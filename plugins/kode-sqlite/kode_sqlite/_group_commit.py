"""Group commit: this process's concurrent write transactions share one SQLite transaction.

SQLite admits one writer at a time, so writers queue anyway. Instead of one thread hop,
one ``BEGIN IMMEDIATE`` and one commit (a WAL sync) per call, the writer that finds no
transaction running leads: it takes every call queued so far and runs them in one
worker-thread hop, in one transaction, each call's work in its own ``SAVEPOINT``. A
work that raises rolls back to its savepoint and fails alone; the others commit. A
failure of the transaction itself (the file lock not granted within ``busy_timeout``,
a failed ``COMMIT``) fails every call of the group, none of whose writes stand. The
calls run in arrival order, so the result is that of running them one after another.

After its group, a leader hands the lead to the first call queued meanwhile: no task
serves others for longer than one group.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import anyio

from kode_core import KodeError

from ._schema import write_transaction

_T = TypeVar("_T")

#: At most this many calls share one transaction (bounds a group's latency).
MAX_GROUP = 64


class RunOnWriter(Protocol):
    """The writer connection's runner: ``work(connection)`` in a worker thread."""

    def __call__(
        self,
        work: Callable[[sqlite3.Connection], None],
        *,
        wait: float,
        on_wait_timeout: Callable[[], KodeError],
    ) -> Awaitable[None]: ...


class _Call(Generic[_T]):
    """One queued write: its work, its deadline and, once run, its outcome."""

    __slots__ = ("deadline", "done", "error", "lead", "result", "taken", "work")

    def __init__(self, work: Callable[[sqlite3.Connection], _T], deadline: float) -> None:
        self.work = work
        self.deadline = deadline
        self.done = anyio.Event()
        self.taken = False  # part of a running group: its outcome is coming
        self.lead = False  # handed the lead: it runs the next group
        self.result: _T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> _T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # set by the work when no error


def _run_group(calls: list[_Call[Any]], conn: sqlite3.Connection) -> None:
    """In a worker thread: every call's work in one transaction, one savepoint each."""
    if len(calls) == 1:
        [call] = calls
        try:
            with write_transaction(conn):
                call.result = call.work(conn)
        except Exception as exc:
            call.error = exc
        return
    with write_transaction(conn):
        for call in calls:
            conn.execute("SAVEPOINT kode_call")
            try:
                call.result = call.work(conn)
            except Exception as exc:
                call.error = exc
                conn.execute("ROLLBACK TO kode_call")
            conn.execute("RELEASE kode_call")


class GroupCommit:
    """Runs write transactions of concurrent callers together (see the module doc)."""

    def __init__(self, run_on_writer: RunOnWriter) -> None:
        self._run_on_writer = run_on_writer
        self._queue: list[_Call[Any]] = []
        self._leading = False

    async def run(
        self,
        work: Callable[[sqlite3.Connection], _T],
        *,
        wait: float,
        on_wait_timeout: Callable[[], KodeError],
    ) -> _T:
        """Run ``work(connection)`` in a write transaction and return its result.

        ``wait`` bounds the call's wait for its turn and for SQLite's file lock;
        a call still queued at its deadline raises ``on_wait_timeout()``.
        """
        call: _Call[_T] = _Call(work, anyio.current_time() + wait)
        self._queue.append(call)
        if self._leading:
            await self._wait_turn(call, on_wait_timeout)
            if not call.lead:
                return call.outcome()
        self._leading = True
        group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        for member in group:
            member.taken = True
        try:
            with anyio.CancelScope(shield=True):
                await self._run(group, on_wait_timeout)
        finally:
            for member in group:
                member.done.set()
            self._pass_lead()
        return call.outcome()

    async def _run(self, group: list[_Call[Any]], on_wait_timeout: Callable[[], KodeError]) -> None:
        left = min(member.deadline for member in group) - anyio.current_time()
        try:
            await self._run_on_writer(
                lambda conn: _run_group(group, conn),
                wait=max(left, 0.001),
                on_wait_timeout=on_wait_timeout,
            )
        except BaseException as exc:
            # The transaction failed: no work of the group stands.
            for member in group:
                member.error, member.result = exc, None
            if not isinstance(exc, Exception):
                raise

    def _pass_lead(self) -> None:
        if self._queue:
            head = self._queue[0]
            head.lead = True
            head.done.set()
        else:
            self._leading = False

    async def _wait_turn(self, call: _Call[Any], on_wait_timeout: Callable[[], KodeError]) -> None:
        try:
            with anyio.move_on_after(call.deadline - anyio.current_time()):
                await call.done.wait()
        except anyio.get_cancelled_exc_class():
            if call.taken:
                # Its work is running: wait for it as a thread hop would, then stop.
                with anyio.CancelScope(shield=True):
                    await call.done.wait()
            else:
                self._leave(call)
            raise
        if call.done.is_set():
            return
        if call.taken:  # the deadline fell while its group ran: the outcome is coming
            with anyio.CancelScope(shield=True):
                await call.done.wait()
            return
        self._leave(call)
        raise on_wait_timeout()

    def _leave(self, call: _Call[Any]) -> None:
        self._queue.remove(call)
        if call.lead:
            self._pass_lead()
