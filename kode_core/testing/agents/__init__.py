"""The agent-store family's conformance kit."""

from ._argument_checks import EngineDump
from ._suite import AgentStoreConformance, BaseAgentStoreConformance, QueryableAgentStoreConformance

__all__ = [
    "AgentStoreConformance",
    "BaseAgentStoreConformance",
    "EngineDump",
    "QueryableAgentStoreConformance",
]
