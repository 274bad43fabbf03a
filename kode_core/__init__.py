"""kode: pluggable persistence for AI-agent runtimes.

Build stores from server-side defaults and per-call wire descriptors::

    import kode_core

    stores = kode_core.session_stores({"sqlite": {"path": "kode.db"}})
    store = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})

This module is the users' API: builders, store configs, families, contracts and
errors. Each family's records live in its package (:mod:`kode_core.sessions`,
:mod:`kode_core.agents`); engine authors import from :mod:`kode_core.backend`.
"""

from ._builders import BackendPool, BuilderMap, stores
from ._clock import now_ms
from ._descriptor import StoreConfig, parse_store
from ._environment import defaults_from_env, store_config_from_env
from ._errors import (
    BackendError,
    BackendUnavailableError,
    ConfigurationError,
    ConflictError,
    DecryptionError,
    InvalidDataError,
    InvalidEntryError,
    InvalidKeyError,
    InvalidOptionError,
    InvalidRecordError,
    KodeError,
    LockTimeoutError,
    NotFoundError,
    NotSupportedError,
    OptionError,
    OptionValueError,
    PluginError,
    SchemaVersionError,
    ServerOnlyOptionError,
    StoreSpecError,
    UnknownKindError,
    UnknownOptionError,
)
from ._family import Family
from ._registry import BackendInfo, Registry, default_registry, load_registry
from ._store import Store
from ._version import __version__
from .agents import (
    AGENTS,
    AgentStore,
    ExtendedAgentStore,
    QueryableAgentStore,
    agent_stores,
    create_store,
    create_store_from_env,
)
from .channels import CHANNELS, ChannelStore, channel_stores
from .deployments import DEPLOYMENTS, DeploymentStore, deployment_stores, heartbeating
from .hookspecs import hookimpl
from .runs import RUNS, RunStore, run_stores
from .secrets import SECRETS, SecretStore, SecretValue, secret_stores
from .sessions import SESSIONS, SessionStore, session_stores, store_from_env
from .threads import THREADS, ThreadStore, thread_stores
from .workflows import WORKFLOWS, WorkflowStore, workflow_stores

__all__ = [
    "AGENTS",
    "CHANNELS",
    "DEPLOYMENTS",
    "RUNS",
    "SECRETS",
    "SESSIONS",
    "THREADS",
    "WORKFLOWS",
    "AgentStore",
    "BackendError",
    "BackendInfo",
    "BackendPool",
    "BackendUnavailableError",
    "BuilderMap",
    "ChannelStore",
    "ConfigurationError",
    "ConflictError",
    "DecryptionError",
    "DeploymentStore",
    "ExtendedAgentStore",
    "Family",
    "InvalidDataError",
    "InvalidEntryError",
    "InvalidKeyError",
    "InvalidOptionError",
    "InvalidRecordError",
    "KodeError",
    "LockTimeoutError",
    "NotFoundError",
    "NotSupportedError",
    "OptionError",
    "OptionValueError",
    "PluginError",
    "QueryableAgentStore",
    "Registry",
    "RunStore",
    "SchemaVersionError",
    "SecretStore",
    "SecretValue",
    "ServerOnlyOptionError",
    "SessionStore",
    "Store",
    "StoreConfig",
    "StoreSpecError",
    "ThreadStore",
    "UnknownKindError",
    "UnknownOptionError",
    "WorkflowStore",
    "__version__",
    "agent_stores",
    "channel_stores",
    "create_store",
    "create_store_from_env",
    "default_registry",
    "defaults_from_env",
    "deployment_stores",
    "heartbeating",
    "hookimpl",
    "load_registry",
    "now_ms",
    "parse_store",
    "run_stores",
    "secret_stores",
    "session_stores",
    "store_config_from_env",
    "store_from_env",
    "stores",
    "thread_stores",
    "workflow_stores",
]

from ._moved import __getattr__  # noqa: F401 - the names that moved serve with a warning
