"""The key layout of the ``redis`` deployment store and its schema version.

Its version sits in the field ``deployments_schema_version`` of ``kode:<ns>:meta``.
``D`` and ``F`` are a deployment id and a function name escaped like every
caller-supplied key part (see :mod:`kode_redis._schema`); sorted-set members are
escaped deployment ids, scored by their last heartbeat (epoch ms, exact as a double)::

    kode:<ns>:deployment:<D>       HASH    id, endpoint, functions (JSON), keys (JSON: its
                                           function sets), heartbeat_ms; kept until
                                           stop or prune
    kode:<ns>:deployment:<D>:live  STRING  "1", expiring ``heartbeat_ttl`` after the last
                                           heartbeat: Redis's own key expiry is liveness
    kode:<ns>:deployments          ZSET    every instance
    kode:<ns>:function:<F>         ZSET    the instances serving F

Reads skip an instance whose ``live`` key has expired; :meth:`prune` deletes the
records left behind, found by score in ``deployments`` (never a ``SCAN``).
"""

from __future__ import annotations

import attrs

from .._schema import RedisSchema, escape

#: The deployment-store keys: version 1 is the first layout (its keys come with the writes).
DEPLOYMENTS = RedisSchema("deployments", 1)


@attrs.frozen
class DeploymentLayout:
    """The key names of one namespace's deployments."""

    namespace: str

    @property
    def record_prefix(self) -> str:
        return f"kode:{self.namespace}:deployment:"

    @property
    def all(self) -> str:
        return f"kode:{self.namespace}:deployments"

    def record(self, deployment_id: str) -> str:
        return f"{self.record_prefix}{escape(deployment_id)}"

    def function(self, function: str) -> str:
        return f"kode:{self.namespace}:function:{escape(function)}"
