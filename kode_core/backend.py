"""The engine author's API: everything a backend plugin or a new service family needs.

Users build stores through :mod:`kode_core`; a plugin that adds a kind (an engine)
or a family imports from here::

    from kode_core.backend import Backend, BackendOptions, server_only, wire_safe

A plugin registers its kind, and per family its store, from a ``hookimpl``::

    @hookimpl
    def kode_register_backends(registry: Registry) -> None:
        registry.add_backend(
            "pg",
            options=PgOptions,
            factory=PgBackend,
            stores={"sessions": PgSessionStore, "agents": PgAgentStore},
            aliases=("postgres", "postgresql"),
        )
"""

from ._backend import Backend, OncePerKey
from ._clock import now_ms
from ._descriptor import server_url_options
from ._errors import ErrorMap, OptionValueError, map_exceptions
from ._family import Family, StoreFactory
from ._helpers import prefix_upper_bound, redact, url_secrets
from ._options import (
    BackendOptions,
    FamilyOptions,
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
from ._record_codec import Record
from ._registry import BackendInfo, EnvOptions, Registry, UrlOptions, env_reader
from ._schema import SchemaComponent, SchemaHost, schema_action
from ._store import Store
from .hookspecs import hookimpl

__all__ = [
    "Backend",
    "BackendInfo",
    "BackendOptions",
    "EnvOptions",
    "ErrorMap",
    "Family",
    "FamilyOptions",
    "OncePerKey",
    "OptionValueError",
    "Record",
    "Registry",
    "SchemaComponent",
    "SchemaHost",
    "Store",
    "StoreFactory",
    "UrlOptions",
    "address_of",
    "check",
    "env_reader",
    "hookimpl",
    "is_bool",
    "is_namespace",
    "is_positive_int",
    "is_positive_number",
    "is_url",
    "map_exceptions",
    "now_ms",
    "prefix_upper_bound",
    "redact",
    "schema_action",
    "server_only",
    "server_url_options",
    "url_secrets",
    "wire_safe",
]
