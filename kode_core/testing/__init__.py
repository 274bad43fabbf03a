"""Test kit for kode backends: the conformance suites and real-server launchers.

A backend runs the session-store contract by subclassing
:class:`SessionStoreConformance`, and the agent-store contract by subclassing
:class:`AgentStoreConformance`, each providing a ``store_factory`` fixture.
"""

from ._factory import StoreFactory, unique_namespace
from ._package_checks import check_exports, check_plugin
from ._readme import readme_example, run_readme_example, user_environment
from .agents import (
    AgentStoreConformance,
    BaseAgentStoreConformance,
    QueryableAgentStoreConformance,
)
from .sessions import SessionStoreConformance

__all__ = [
    "AgentStoreConformance",
    "BaseAgentStoreConformance",
    "QueryableAgentStoreConformance",
    "SessionStoreConformance",
    "StoreFactory",
    "check_exports",
    "check_plugin",
    "readme_example",
    "run_readme_example",
    "unique_namespace",
    "user_environment",
]
