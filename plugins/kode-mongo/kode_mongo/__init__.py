"""kode-mongo: kode's MongoDB backend (pymongo's async API, ``AsyncMongoClient``).

Register it by installing the distribution (entry point ``kode: mongo``), then
build stores from server-side defaults and per-call wire descriptors::

    import kode_core

    stores = kode_core.session_stores({"mongo": {"url": "mongodb://db:27017/?replicaSet=rs0"}})
    store = stores.build({"kind": "mongo", "options": {"namespace": "tenant_a"}})

Each namespace is a set of collections ``<namespace>.<name>`` in the ``database``
option's database (``session_keys``, ``session_entries``, ``agent_*`` and
``kode_meta``); see the README for the storage layout and every option.
"""

from ._agents.store import MongoAgentStore
from ._backend import MongoBackend
from ._channels.store import MongoChannelStore
from ._deployments.store import MongoDeploymentStore
from ._options import MongoOptions
from ._sessions.store import MongoSessionStore
from ._version import __version__

__all__ = [
    "MongoAgentStore",
    "MongoBackend",
    "MongoChannelStore",
    "MongoDeploymentStore",
    "MongoOptions",
    "MongoSessionStore",
    "__version__",
]
