"""The agent-store family: its registration and its builders."""

from __future__ import annotations

from .._builders import BuilderMap, Defaults
from .._family import Family
from .._registry import Registry
from ._options import AgentOptions
from ._store_extended import ExtendedAgentStore

#: The KODE SDK's agent runtime store (``Store``, ``QueryableStore``, ``ExtendedStore``).
AGENTS: Family[ExtendedAgentStore] = Family(
    "agents", ExtendedAgentStore, AgentOptions, "agent runtime state (KODE SDK)"
)


def agent_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[ExtendedAgentStore]:
    """A builder map of agent runtime stores, made like :func:`~kode_core.session_stores`.

    Pass the :class:`~kode_core.BackendPool` of a session-store map (``sessions.pool``)
    to serve both families from one client or pool per configuration::

        agents = agent_stores(sessions.pool)
        store = agents.build({"kind": "pg", "options": {"namespace": "tenant_a"}})
    """
    return BuilderMap(AGENTS, defaults, registry=registry)
