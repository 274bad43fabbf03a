"""kode-redis: kode's stores of every family on Redis (``redis.asyncio``).

Register it with ``pip install kode-redis`` (entry point ``kode``), then::

    import kode_core

    stores = kode_core.session_stores({"redis": {"url": "redis://localhost:6379/0"}})
    store = stores.build({"kind": "redis", "options": {"namespace": "tenant_a"}})

Every key of a namespace starts with ``kode:<namespace>:``; see the README for the
key layout of each family and every option.
"""

from ._agents.store import RedisAgentStore
from ._backend import RedisBackend
from ._channels.store import RedisChannelStore
from ._deployments.store import RedisDeploymentStore
from ._options import RedisOptions
from ._sessions.store import RedisSessionStore
from ._version import __version__

__all__ = [
    "RedisAgentStore",
    "RedisBackend",
    "RedisChannelStore",
    "RedisDeploymentStore",
    "RedisOptions",
    "RedisSessionStore",
    "__version__",
]
