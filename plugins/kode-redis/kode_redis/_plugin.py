"""The ``kode`` entry point of kode-redis: registers the ``redis`` kind and its stores.

Operators name the kind ``redis``, by a ``redis://`` or ``rediss://`` store URL, or by
``KODE_REDIS_URL``.
"""

from __future__ import annotations

from kode_core.backend import Registry, env_reader, hookimpl, server_url_options

from ._agents.store import RedisAgentStore
from ._backend import RedisBackend
from ._channels.store import RedisChannelStore
from ._deployments.store import RedisDeploymentStore
from ._options import RedisOptions
from ._runs.store import RedisRunStore
from ._secrets.store import RedisSecretStore
from ._sessions.store import RedisSessionStore
from ._threads.store import RedisThreadStore
from ._workflows.store import RedisWorkflowStore


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the ``redis`` kind, which provides a store of every kode family."""
    registry.add_backend(
        "redis",
        options=RedisOptions,
        factory=RedisBackend,
        stores={
            "sessions": RedisSessionStore,
            "agents": RedisAgentStore,
            "secrets": RedisSecretStore,
            "channels": RedisChannelStore,
            "deployments": RedisDeploymentStore,
            "workflows": RedisWorkflowStore,
            "threads": RedisThreadStore,
            "runs": RedisRunStore,
        },
        url_schemes=("redis", "rediss"),
        url_options=server_url_options,
        env_options=env_reader({"KODE_REDIS_URL": "url"}),
        env_location=("KODE_REDIS_URL",),
    )
