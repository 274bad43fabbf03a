"""The deployment store contract: which instances run, where, serving which functions.

The public methods check every argument before any I/O, read the clock once
(:func:`~kode_core.now_ms`) and call the underscore primitives a backend
implements, each atomic in its engine.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

from .._clock import now_ms
from .._errors import InvalidRecordError, NotFoundError
from .._options import BackendOptions
from .._store import Store
from ..agents import check_agent_id
from ..channels._store import check_id
from ._options import DeploymentOptions
from ._records import Deployment

MAX_FUNCTIONS = 10_000


def check_functions(value: object) -> tuple[str, ...]:
    """``value`` as a sorted tuple of distinct function names, or InvalidRecordError."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InvalidRecordError("functions", f"must be a list, got {type(value).__name__}")
    if len(value) > MAX_FUNCTIONS:
        raise InvalidRecordError("functions", f"holds more than {MAX_FUNCTIONS} names")
    names = {check_id(name, f"functions[{i}]") for i, name in enumerate(value)}
    return tuple(sorted(names))


class DeploymentStore(Store):
    """The running instances of a service, per namespace, on one engine.

    An instance calls :meth:`start`, then :meth:`heartbeat` every
    :attr:`heartbeat_interval` seconds until :meth:`stop` (:func:`~kode_core.heartbeating`
    does all three). It is live while its last heartbeat is under
    :attr:`heartbeat_ttl` seconds old; reads ignore the others and :meth:`prune`
    deletes them. Every method raises :class:`~kode_core.InvalidRecordError` for bad
    input before any I/O, and :class:`~kode_core.BackendUnavailableError` when the
    engine cannot be reached. Liveness is judged by the callers' clocks: keep the
    machines' clocks in sync well within the TTL.
    """

    def __init__(self, options: BackendOptions, settings: DeploymentOptions) -> None:
        super().__init__(options)
        self._interval = float(settings.heartbeat_interval)
        self._ttl_ms = max(1, round(settings.heartbeat_ttl * 1000))

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between two heartbeats of an instance."""
        return self._interval

    @property
    def heartbeat_ttl(self) -> float:
        """Seconds after its last heartbeat an instance stops counting as live."""
        return self._ttl_ms / 1000

    def _live_since(self) -> int:
        return now_ms() - self._ttl_ms

    async def start(self, deployment_id: str, endpoint: str, functions: Sequence[str]) -> None:
        """Store the instance with a fresh heartbeat and replace its function list, atomically."""
        deployment_id = check_id(deployment_id, "deployment_id")
        endpoint = check_agent_id(endpoint, "endpoint")
        names = check_functions(functions)
        await self._start(Deployment(deployment_id, endpoint, names, now_ms()), self._ttl_ms)

    async def heartbeat(self, deployment_id: str) -> None:
        """Refresh the instance's heartbeat.

        Raises :class:`~kode_core.NotFoundError` if it is not live (stopped, pruned or
        expired): call :meth:`start` again.
        """
        deployment_id = check_id(deployment_id, "deployment_id")
        now = now_ms()
        if not await self._heartbeat(deployment_id, now, now - self._ttl_ms, self._ttl_ms):
            raise NotFoundError(
                f"no live deployment {deployment_id!r}", deployment_id=deployment_id
            )

    async def stop(self, deployment_id: str) -> None:
        """Remove the instance and its function list (nothing happens if it is gone)."""
        await self._stop(check_id(deployment_id, "deployment_id"))

    async def find_deployment(self, function: str) -> Deployment:
        """The live instance serving ``function`` with the newest heartbeat.

        Raises :class:`~kode_core.NotFoundError` naming the function when none is live.
        """
        function = check_id(function, "function")
        found = await self._find(function, self._live_since())
        if found is None:
            raise NotFoundError(f"no live deployment serves {function!r}", function=function)
        return found

    async def list_deployments(self, live_only: bool = True) -> list[Deployment]:
        """The stored instances sorted by id: only the live ones unless ``live_only`` is False."""
        if not isinstance(live_only, bool):
            raise InvalidRecordError("live_only", f"must be a bool, got {live_only!r}")
        return await self._list(self._live_since() if live_only else None)

    async def prune(self) -> int:
        """Delete the instances that are not live; how many were deleted."""
        return await self._prune(self._live_since())

    # -- what a backend implements, each atomic -------------------------------------------

    @abc.abstractmethod
    async def _start(self, deployment: Deployment, ttl_ms: int) -> None:
        """Upsert the instance and replace its functions in one write."""

    @abc.abstractmethod
    async def _heartbeat(self, deployment_id: str, now: int, since: int, ttl_ms: int) -> bool:
        """Set its heartbeat to ``now`` if it beat at or after ``since``; False if not."""

    @abc.abstractmethod
    async def _stop(self, deployment_id: str) -> None:
        """Delete the instance and its functions."""

    @abc.abstractmethod
    async def _find(self, function: str, since: int) -> Deployment | None:
        """The instance serving ``function`` with the newest heartbeat at or after ``since``."""

    @abc.abstractmethod
    async def _list(self, since: int | None) -> list[Deployment]:
        """The instances (with a heartbeat at or after ``since`` unless None), by id."""

    @abc.abstractmethod
    async def _prune(self, since: int) -> int:
        """Delete the instances whose heartbeat is before ``since``; how many."""
