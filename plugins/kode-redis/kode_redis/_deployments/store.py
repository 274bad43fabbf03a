"""The deployment store in Redis: records, liveness keys that expire, sorted-set indexes."""

from __future__ import annotations

import json
from typing import Any

from kode_core.deployments import Deployment, DeploymentOptions, DeploymentStore

from .._backend import RedisBackend
from .._options import RedisOptions
from .._schema import escape
from .schema import DEPLOYMENTS, DeploymentLayout
from .scripts import DeploymentScripts


def _deployment(row: list[Any]) -> Deployment:
    return Deployment(row[0], row[1], tuple(json.loads(row[2])), int(row[3]))


class RedisDeploymentStore(DeploymentStore):
    """Instances of one namespace of a Redis server.

    Each write is one script. An instance is live while its ``live`` key exists
    (Redis expires it ``heartbeat_ttl`` after the last heartbeat) and its score is
    within the TTL; lookups walk the function's sorted set from the newest heartbeat
    down, so they stop at the first live instance.
    """

    def __init__(
        self, backend: RedisBackend, options: RedisOptions, settings: DeploymentOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        backend.refuse_on_cluster("deployments")  # its scripts still span hash slots
        self._use_schema(backend, DEPLOYMENTS)
        self._layout = DeploymentLayout(options.namespace)

    def __repr__(self) -> str:
        return f"<RedisDeploymentStore namespace={self.namespace!r} backend={self._backend!r}>"

    async def _scripts(self) -> DeploymentScripts:
        await self._backend.client(self.namespace, DEPLOYMENTS)
        return self._backend.scripts(DeploymentScripts.register)

    async def _start(self, deployment: Deployment, ttl_ms: int) -> None:
        d, scripts = deployment, await self._scripts()
        keys = [self._layout.function(function) for function in d.functions]
        args: list[str | int] = [
            escape(d.deployment_id),
            d.deployment_id,
            d.endpoint,
            json.dumps(list(d.functions)),
            json.dumps(keys),
            d.heartbeat_ms,
            ttl_ms,
        ]
        with self._backend.errors():
            await scripts.start(
                keys=[self._layout.record(d.deployment_id), self._layout.all], args=args
            )

    async def _heartbeat(self, deployment_id: str, now: int, since: int, ttl_ms: int) -> bool:
        scripts = await self._scripts()
        keys = [self._layout.record(deployment_id), self._layout.all]
        with self._backend.errors():
            beat = await scripts.heartbeat(keys=keys, args=[escape(deployment_id), now, ttl_ms])
        return bool(beat)

    async def _stop(self, deployment_id: str) -> None:
        scripts = await self._scripts()
        args = [self._layout.record_prefix, escape(deployment_id)]
        with self._backend.errors():
            await scripts.delete(keys=[self._layout.all], args=args)

    async def _read(self, key: str, since: int | None, limit: int) -> list[Deployment]:
        scripts = await self._scripts()
        lowest = "-inf" if since is None else since
        args = [self._layout.record_prefix, lowest, "all" if since is None else "live", limit]
        with self._backend.errors():
            rows = await scripts.read(keys=[key], args=args)
        return [_deployment(row) for row in rows]

    async def _find(self, function: str, since: int) -> Deployment | None:
        found = await self._read(self._layout.function(function), since, 1)
        return found[0] if found else None

    async def _list(self, since: int | None) -> list[Deployment]:
        found = await self._read(self._layout.all, since, 0)
        return sorted(found, key=lambda d: d.deployment_id)

    async def _prune(self, since: int) -> int:
        scripts = await self._scripts()
        with self._backend.errors():
            deleted = await scripts.delete(
                keys=[self._layout.all], args=[self._layout.record_prefix, "", since]
            )
        return int(deleted)
