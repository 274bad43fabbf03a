"""kode: pluggable persistence for AI-agent runtimes.

Build stores from server-side defaults and per-call wire descriptors::

    import kode_core

    stores = kode_core.session_stores({"sqlite": {"path": "kode.db"}})
    store = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})

This module is the users' API: builders, store configs, families, contracts and
errors. Each family's records live in its package (:mod:`kode_core.sessions`,
:mod:`kode_core.agents`); engine authors import from :mod:`kode_core.backend`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

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
from .hookspecs import hookimpl
from .sessions import SESSIONS, SessionStore, session_stores, store_from_env

__all__ = [
    "AGENTS",
    "SESSIONS",
    "AgentStore",
    "BackendError",
    "BackendInfo",
    "BackendPool",
    "BackendUnavailableError",
    "BuilderMap",
    "ConfigurationError",
    "ConflictError",
    "DecryptionError",
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
    "SchemaVersionError",
    "ServerOnlyOptionError",
    "SessionStore",
    "Store",
    "StoreConfig",
    "StoreSpecError",
    "UnknownKindError",
    "UnknownOptionError",
    "__version__",
    "agent_stores",
    "create_store",
    "create_store_from_env",
    "default_registry",
    "defaults_from_env",
    "hookimpl",
    "load_registry",
    "now_ms",
    "parse_store",
    "session_stores",
    "store_config_from_env",
    "store_from_env",
    "stores",
]

#: Names that moved in 0.2, served from their new module with a DeprecationWarning
#: until 0.3: the engine author's API went to ``kode_core.backend``, each family's
#: records to its package.
_MOVED = {
    **dict.fromkeys(
        [
            "Backend",
            "BackendOptions",
            "OncePerKey",
            "address_of",
            "check",
            "is_bool",
            "is_namespace",
            "is_positive_int",
            "is_positive_number",
            "is_url",
            "map_exceptions",
            "server_only",
            "wire_safe",
        ],
        "kode_core.backend",
    ),
    **dict.fromkeys(
        [
            "EncodedEntry",
            "EntryPage",
            "MemorySessionStore",
            "ProjectPage",
            "SessionKey",
            "SessionListing",
            "SessionPage",
            "SessionSummary",
            "StoredEntry",
            "SummaryFold",
            "decode_entry",
            "encode_batch",
            "encode_entry",
            "sdk_summary_fold",
        ],
        "kode_core.sessions",
    ),
    **dict.fromkeys(["MemoryBackend", "MemoryOptions"], "kode_core.memory"),
    "Record": "kode_core.backend",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        agents = importlib.import_module("kode_core.agents")
        if name not in agents.__all__:
            raise AttributeError(f"module 'kode_core' has no attribute {name!r}")
        module = "kode_core.agents"
    warnings.warn(
        f"kode_core.{name} moved to {module}.{name}; the old name goes in kode-core 0.3",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
