"""The per-agent lock: waits up to a timeout, renews its lease, hands out a fencing token.

The engine keeps the lease (a row, a document or a key with an expiry) and a
per-agent grant counter; this module supplies the behaviour every engine shares:
polling with back-off until the timeout, renewing the lease in the background
while the lock is held, and releasing it on exit. A holder whose process dies
stops renewing, so its lease lapses and the next waiter takes over.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType

import anyio
import anyio.abc

from .._errors import InvalidDataError, LockTimeoutError

log = logging.getLogger("kode_core.lock")

#: ``try_acquire(agent_id, owner, lease_ms) -> fencing token, or None if held by another``.
TryAcquire = Callable[[str, str, int], Awaitable[int | None]]
#: ``renew(agent_id, owner, lease_ms) -> still ours?``
Renew = Callable[[str, str, int], Awaitable[bool]]
#: ``release(agent_id, owner)``: drop the lease if ``owner`` still holds it.
Release = Callable[[str, str], Awaitable[None]]

_FIRST_RETRY = 0.01
_MAX_RETRY = 0.25


#: The longest lock timeout or lease, in seconds (a year): every engine's clock holds it.
MAX_SECONDS = 365 * 86_400


def check_seconds(name: str, value: object) -> float:
    """``value`` as a positive number of seconds, at most :data:`MAX_SECONDS`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidDataError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise InvalidDataError(
            f"{name} must be more than 0 and at most {MAX_SECONDS} seconds, got {value!r}"
        )
    return float(value)


class AgentLock:
    """An async context manager holding one agent's lock.

    ``token`` is the fencing token of this grant: it is larger than every earlier
    grant's for the same agent, so a resource guarded by the lock can refuse a
    write from a holder whose lease lapsed. ``lost`` turns true if a renewal
    found the lease taken (the process stalled past a whole lease).
    """

    def __init__(
        self,
        agent_id: str,
        *,
        timeout: float,
        lease: float,
        try_acquire: TryAcquire,
        renew: Renew,
        release: Release,
    ) -> None:
        self.agent_id = agent_id
        self._timeout = check_seconds("timeout", timeout)
        self._lease_ms = max(1, int(check_seconds("lease", lease) * 1000))
        self._try_acquire = try_acquire
        self._renew = renew
        self._release = release
        self._owner = uuid.uuid4().hex
        self._token: int | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self.lost = False

    @property
    def token(self) -> int:
        """The fencing token of this grant (only while held)."""
        if self._token is None:
            raise RuntimeError("the lock is not held")
        return self._token

    async def __aenter__(self) -> AgentLock:
        if self._group is not None:
            raise RuntimeError("an AgentLock is not reentrant; acquire a new one")
        self._token = await self._wait_for_grant()
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._keep_renewing)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        group, self._group = self._group, None
        assert group is not None
        group.cancel_scope.cancel()
        try:
            # The body's own exception is not the task group's business: passing it in
            # would come back wrapped in an ExceptionGroup. Only the renewer is stopped.
            await group.__aexit__(None, None, None)
        finally:
            with anyio.CancelScope(shield=True):
                await self._release(self.agent_id, self._owner)
            self._token = None
        return None

    async def _wait_for_grant(self) -> int:
        delay = _FIRST_RETRY
        with anyio.move_on_after(self._timeout):
            while True:
                # Shielded: a grant made as the timeout fires must not be dropped unreleased.
                with anyio.CancelScope(shield=True):
                    token = await self._try_acquire(self.agent_id, self._owner, self._lease_ms)
                if token is not None:
                    return token
                await anyio.sleep(delay)
                delay = min(delay * 2, _MAX_RETRY)
        raise LockTimeoutError(
            f"agent {self.agent_id!r} is locked by another holder; gave up after {self._timeout}s"
        )

    async def _keep_renewing(self) -> None:
        interval = self._lease_ms / 3000
        while True:
            await anyio.sleep(interval)
            try:
                still_ours = await self._renew(self.agent_id, self._owner, self._lease_ms)
            except Exception:  # the engine blipped: try again on the next tick
                log.warning("renewing the lock of agent %r failed", self.agent_id, exc_info=True)
                continue
            if not still_ours:
                self.lost = True
                log.error("the lock of agent %r was lost before release", self.agent_id)
                return
