"""kode-pg: kode's PostgreSQL backend (psycopg 3 async + psycopg_pool).

Register it by installing the distribution (entry point ``kode: pg``), then build
stores from server-side defaults and per-call wire descriptors::

    import kode_core

    stores = kode_core.session_stores({"pg": {"url": "postgresql://app@db:5432/app"}})
    store = stores.build({"kind": "pg", "options": {"namespace": "tenant_a"}})

The same builders serve agent runtime stores (``kode_core.agent_stores``) from
the same pool. Each namespace is a PostgreSQL schema ``kode_<namespace>``; see
the README for the storage layout and every option.
"""

from ._agents.store import PgAgentStore
from ._backend import PgBackend
from ._channels.store import PgChannelStore
from ._conflicts import TransactionConflictError
from ._deployments.store import PgDeploymentStore
from ._options import PgOptions
from ._sessions.store import PgSessionStore
from ._version import __version__

__all__ = [
    "PgAgentStore",
    "PgBackend",
    "PgChannelStore",
    "PgDeploymentStore",
    "PgOptions",
    "PgSessionStore",
    "TransactionConflictError",
    "__version__",
]
