"""kode-sqlite: the embedded default backend of kode, one SQLite file and zero setup.

Installed, it registers the ``sqlite`` kind (a store of every kode family)
through the ``kode`` entry point. Build stores from server-side defaults and
per-call wire descriptors; one pool serves every family from one backend::

    import kode_core

    pool = kode_core.BackendPool({"sqlite": {"path": "data/kode.db"}})
    sessions, agents = kode_core.session_stores(pool), kode_core.agent_stores(pool)
    store = agents.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})
"""

from ._agents.store import SqliteAgentStore
from ._backend import SqliteBackend
from ._channels.store import SqliteChannelStore
from ._deployments.store import SqliteDeploymentStore
from ._options import SqliteOptions
from ._sessions.store import SqliteSessionStore
from ._version import __version__

__all__ = [
    "SqliteAgentStore",
    "SqliteBackend",
    "SqliteChannelStore",
    "SqliteDeploymentStore",
    "SqliteOptions",
    "SqliteSessionStore",
    "__version__",
]
