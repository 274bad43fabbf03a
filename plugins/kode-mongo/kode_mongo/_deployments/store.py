"""The deployment store in MongoDB: one document per instance, its functions inside."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import ASCENDING, DESCENDING

from kode_core.deployments import Deployment, DeploymentOptions, DeploymentStore

from .._backend import MongoBackend
from .._options import MongoOptions
from .._schema import Collection, Document
from .schema import DEPLOYMENTS


def _deployment(doc: Document) -> Deployment:
    return Deployment(doc["_id"], doc["e"], tuple(doc["f"]), int(doc["h"]))


class MongoDeploymentStore(DeploymentStore):
    """Instances of one namespace in a MongoDB database; every write is one document's.

    Expired instances are ignored by the heartbeat filter of every read and deleted
    by :meth:`prune` (a TTL index would purge them only once a minute).
    """

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: DeploymentOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend.schema_in(options.database), DEPLOYMENTS)
        self._database = options.database

    def __repr__(self) -> str:
        return (
            f"<MongoDeploymentStore {self._backend.address} database={self._database!r} "
            f"namespace={self.namespace!r}>"
        )

    @asynccontextmanager
    async def _deployments(self) -> AsyncIterator[Collection]:
        async with self._backend.database(self._database, self.namespace, DEPLOYMENTS) as db:
            yield db[f"{self.namespace}.deployments"]

    async def _start(self, deployment: Deployment, ttl_ms: int) -> None:
        d = deployment
        async with self._deployments() as deployments:
            await deployments.replace_one(
                {"_id": d.deployment_id},
                {"e": d.endpoint, "f": list(d.functions), "h": d.heartbeat_ms},
                upsert=True,
            )

    async def _heartbeat(self, deployment_id: str, now: int, since: int, ttl_ms: int) -> bool:
        async with self._deployments() as deployments:
            result = await deployments.update_one(
                {"_id": deployment_id, "h": {"$gte": since}}, {"$set": {"h": now}}
            )
        return result.matched_count > 0

    async def _stop(self, deployment_id: str) -> None:
        async with self._deployments() as deployments:
            await deployments.delete_one({"_id": deployment_id})

    async def _find(self, function: str, since: int) -> Deployment | None:
        async with self._deployments() as deployments:
            found = await deployments.find_one(
                {"f": function, "h": {"$gte": since}},
                sort=[("h", DESCENDING), ("_id", DESCENDING)],
            )
        return None if found is None else _deployment(found)

    async def _list(self, since: int | None) -> list[Deployment]:
        where: dict[str, Any] = {} if since is None else {"h": {"$gte": since}}
        async with self._deployments() as deployments:
            cursor = deployments.find(where).sort("_id", ASCENDING)
            return [_deployment(doc) async for doc in cursor]

    async def _prune(self, since: int) -> int:
        async with self._deployments() as deployments:
            result = await deployments.delete_many({"h": {"$lt": since}})
        return result.deleted_count
