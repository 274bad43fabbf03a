"""Running an instance's heartbeats for as long as it serves."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio

from .._errors import KodeError, NotFoundError
from ._store import DeploymentStore

_log = logging.getLogger("kode_core.deployments")


@asynccontextmanager
async def heartbeating(
    store: DeploymentStore,
    deployment_id: str,
    endpoint: str,
    functions: Sequence[str],
    *,
    interval: float | None = None,
) -> AsyncIterator[None]:
    """Start the instance, heartbeat it in the background, stop it on the way out::

        async with heartbeating(store, "api-1", "http://10.0.0.5:8000", ["greet"]):
            await serve_forever()

    Heartbeats come every ``interval`` seconds (the store's ``heartbeat_interval`` by
    default). A heartbeat that finds the instance gone (pruned after a long pause)
    starts it again; one that fails on the engine is logged and retried at the next
    beat. Leaving the block, by return, error or cancellation, ends the loop and
    calls :meth:`~kode_core.DeploymentStore.stop` (if the engine is down then, the
    failure is logged: the instance expires after the TTL anyway). Errors of the first
    :meth:`~kode_core.DeploymentStore.start` propagate.
    """
    every = store.heartbeat_interval if interval is None else interval
    if every <= 0:
        raise ValueError(f"interval must be positive, got {every!r}")
    await store.start(deployment_id, endpoint, functions)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_beat, store, deployment_id, endpoint, functions, every)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(store.heartbeat_ttl):
            try:
                await store.stop(deployment_id)
            except KodeError as exc:
                _log.warning("stopping deployment %r failed: %s", deployment_id, exc)


async def _beat(
    store: DeploymentStore,
    deployment_id: str,
    endpoint: str,
    functions: Sequence[str],
    every: float,
) -> None:
    while True:
        await anyio.sleep(every)
        try:
            try:
                await store.heartbeat(deployment_id)
            except NotFoundError:  # expired or pruned meanwhile: register again
                await store.start(deployment_id, endpoint, functions)
        except KodeError as exc:  # the engine is down: keep trying, the TTL decides
            _log.warning("heartbeat of deployment %r failed: %s", deployment_id, exc)
