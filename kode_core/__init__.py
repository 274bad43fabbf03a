"""kode: pluggable persistence for AI-agent runtimes.

Build stores from server-side defaults and per-call wire descriptors::

    import kode_core

    stores = kode_core.session_stores({"sqlite": {"path": "kode.db"}})
    store = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})
"""

from ._backend import Backend, OncePerKey
from ._builders import BuilderMap, session_stores
from ._entries import decode_entry, encode_batch, encode_entry
from ._environment import defaults_from_env, store_config_from_env, store_from_env
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
    KodeError,
    LockTimeoutError,
    NotFoundError,
    NotSupportedError,
    OptionError,
    PluginError,
    SchemaVersionError,
    ServerOnlyOptionError,
    StoreSpecError,
    UnknownKindError,
    UnknownOptionError,
    map_exceptions,
)
from ._memory import MemoryBackend, MemoryOptions, MemorySessionStore
from ._options import (
    BackendOptions,
    OptionValueError,
    address_of,
    check,
    is_bool,
    is_namespace,
    is_positive_int,
    is_positive_number,
    is_url,
    server_only,
    wire_safe,
)
from ._records import (
    EncodedEntry,
    EntryPage,
    SessionKey,
    SessionListing,
    SessionPage,
    SessionSummary,
    StoredEntry,
)
from ._registry import BackendInfo, Registry, default_registry, load_registry
from ._session_store import SessionStore, SummaryFold, now_ms, sdk_summary_fold
from ._store_url import StoreConfig, parse_store
from ._version import __version__
from .hookspecs import hookimpl

__all__ = [
    "Backend",
    "BackendError",
    "BackendInfo",
    "BackendOptions",
    "BackendUnavailableError",
    "BuilderMap",
    "ConfigurationError",
    "ConflictError",
    "DecryptionError",
    "EncodedEntry",
    "EntryPage",
    "InvalidDataError",
    "InvalidEntryError",
    "InvalidKeyError",
    "InvalidOptionError",
    "KodeError",
    "LockTimeoutError",
    "MemoryBackend",
    "MemoryOptions",
    "MemorySessionStore",
    "NotFoundError",
    "NotSupportedError",
    "OncePerKey",
    "OptionError",
    "OptionValueError",
    "PluginError",
    "Registry",
    "SchemaVersionError",
    "ServerOnlyOptionError",
    "SessionKey",
    "SessionListing",
    "SessionPage",
    "SessionStore",
    "SessionSummary",
    "StoreConfig",
    "StoreSpecError",
    "StoredEntry",
    "SummaryFold",
    "UnknownKindError",
    "UnknownOptionError",
    "__version__",
    "address_of",
    "check",
    "decode_entry",
    "default_registry",
    "defaults_from_env",
    "encode_batch",
    "encode_entry",
    "hookimpl",
    "is_bool",
    "is_namespace",
    "is_positive_int",
    "is_positive_number",
    "is_url",
    "load_registry",
    "map_exceptions",
    "now_ms",
    "parse_store",
    "sdk_summary_fold",
    "server_only",
    "session_stores",
    "store_config_from_env",
    "store_from_env",
    "wire_safe",
]
