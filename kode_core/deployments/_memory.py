"""The ``memory`` backend's deployment store: the executable reference of the contract."""

from __future__ import annotations

import attrs

from .._options import BackendOptions
from ..memory import MemoryBackend
from ._options import DeploymentOptions
from ._records import Deployment
from ._store import DeploymentStore

#: The memory backend's layout has one version: there is nothing stored to migrate.
SCHEMA_VERSION = 1


@attrs.define
class DeploymentData:
    """One namespace's instances and the index of function name to instance ids."""

    instances: dict[str, Deployment] = attrs.Factory(dict)
    by_function: dict[str, set[str]] = attrs.Factory(dict)

    def remove(self, deployment_id: str) -> bool:
        old = self.instances.pop(deployment_id, None)
        for function in old.functions if old else ():
            ids = self.by_function[function]
            ids.discard(deployment_id)
            if not ids:
                del self.by_function[function]
        return old is not None


class MemoryDeploymentStore(DeploymentStore):
    """Instances in dictionaries of this process; no primitive awaits, so each is atomic."""

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: DeploymentOptions
    ) -> None:
        super().__init__(options, settings)
        self._data = backend.namespace_data("deployments", options.namespace, DeploymentData)

    def __repr__(self) -> str:
        return f"<MemoryDeploymentStore namespace={self.namespace!r}>"

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _migrate(self) -> None:
        pass  # nothing outlives the process

    async def _start(self, deployment: Deployment, ttl_ms: int) -> None:
        self._data.remove(deployment.deployment_id)
        self._data.instances[deployment.deployment_id] = deployment
        for function in deployment.functions:
            self._data.by_function.setdefault(function, set()).add(deployment.deployment_id)

    async def _heartbeat(self, deployment_id: str, now: int, since: int, ttl_ms: int) -> bool:
        old = self._data.instances.get(deployment_id)
        if old is None or old.heartbeat_ms < since:
            return False
        self._data.instances[deployment_id] = attrs.evolve(old, heartbeat_ms=now)
        return True

    async def _stop(self, deployment_id: str) -> None:
        self._data.remove(deployment_id)

    async def _find(self, function: str, since: int) -> Deployment | None:
        live = [
            self._data.instances[i]
            for i in self._data.by_function.get(function, ())
            if self._data.instances[i].heartbeat_ms >= since
        ]
        return max(live, key=lambda d: (d.heartbeat_ms, d.deployment_id), default=None)

    async def _list(self, since: int | None) -> list[Deployment]:
        return [
            self._data.instances[i]
            for i in sorted(self._data.instances)
            if since is None or self._data.instances[i].heartbeat_ms >= since
        ]

    async def _prune(self, since: int) -> int:
        dead = [i for i, d in self._data.instances.items() if d.heartbeat_ms < since]
        return sum(self._data.remove(i) for i in dead)
