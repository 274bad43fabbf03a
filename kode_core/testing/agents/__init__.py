"""The agent-store family's conformance kit."""

from ._suite import AgentStoreConformance, BaseAgentStoreConformance, QueryableAgentStoreConformance

__all__ = ["AgentStoreConformance", "BaseAgentStoreConformance", "QueryableAgentStoreConformance"]
