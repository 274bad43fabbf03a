"""Test kit for kode backends: the conformance suites and real-server launchers.

One package per service family (:mod:`kode_core.testing.sessions`,
:mod:`kode_core.testing.agents`); a backend runs a family's contract by subclassing
its suite and providing a ``store_factory`` fixture. :mod:`kode_core.testing.servers`
starts real PostgreSQL, Redis and MongoDB-wire servers on loopback ports, and
:func:`pgbouncer_server` a PgBouncer in front of such a PostgreSQL,
:func:`redis_cluster_server` a Redis Cluster of several masters.
"""

from ._engine import EngineConformance
from ._factory import StoreFactory, unique_namespace
from ._package_checks import PackageConformance, check_exports, check_plugin
from ._pgbouncer import pgbouncer_server
from ._readme import (
    ReadmeBlock,
    python_blocks,
    readme_example,
    run_python,
    run_readme_example,
    user_environment,
)
from ._redis_cluster import TestCluster, redis_cluster_server
from .agents import (
    AgentStoreConformance,
    BaseAgentStoreConformance,
    QueryableAgentStoreConformance,
)
from .channels import ChannelStoreConformance
from .deployments import DeploymentStoreConformance
from .runs import RunStoreConformance
from .secrets import MemoryRawSecretRows, RawSecretRows, SecretStoreConformance
from .servers import TestServer, mongo_server, postgres_server, redis_server
from .sessions import SessionStoreConformance
from .threads import ThreadStoreConformance
from .workflows import WorkflowStoreConformance

__all__ = [
    "AgentStoreConformance",
    "BaseAgentStoreConformance",
    "ChannelStoreConformance",
    "DeploymentStoreConformance",
    "EngineConformance",
    "MemoryRawSecretRows",
    "PackageConformance",
    "QueryableAgentStoreConformance",
    "RawSecretRows",
    "ReadmeBlock",
    "RunStoreConformance",
    "SecretStoreConformance",
    "SessionStoreConformance",
    "StoreFactory",
    "TestCluster",
    "TestServer",
    "ThreadStoreConformance",
    "WorkflowStoreConformance",
    "check_exports",
    "check_plugin",
    "mongo_server",
    "pgbouncer_server",
    "postgres_server",
    "python_blocks",
    "readme_example",
    "redis_cluster_server",
    "redis_server",
    "run_python",
    "run_readme_example",
    "unique_namespace",
    "user_environment",
]
