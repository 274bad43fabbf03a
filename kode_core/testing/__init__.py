"""Test kit for kode backends: the conformance suites and real-server launchers.

One package per service family (:mod:`kode_core.testing.sessions`,
:mod:`kode_core.testing.agents`); a backend runs a family's contract by subclassing
its suite and providing a ``store_factory`` fixture. :mod:`kode_core.testing.servers`
starts real PostgreSQL, Redis and MongoDB-wire servers on loopback ports.
"""

from ._engine import EngineConformance
from ._factory import StoreFactory, unique_namespace
from ._package_checks import PackageConformance, check_exports, check_plugin
from ._readme import readme_example, run_readme_example, user_environment
from .agents import (
    AgentStoreConformance,
    BaseAgentStoreConformance,
    QueryableAgentStoreConformance,
)
from .runs import RunStoreConformance
from .servers import TestServer, mongo_server, postgres_server, redis_server
from .sessions import SessionStoreConformance
from .threads import ThreadStoreConformance

__all__ = [
    "AgentStoreConformance",
    "BaseAgentStoreConformance",
    "EngineConformance",
    "PackageConformance",
    "QueryableAgentStoreConformance",
    "RunStoreConformance",
    "SessionStoreConformance",
    "StoreFactory",
    "TestServer",
    "ThreadStoreConformance",
    "check_exports",
    "check_plugin",
    "mongo_server",
    "postgres_server",
    "readme_example",
    "redis_server",
    "run_readme_example",
    "unique_namespace",
    "user_environment",
]
