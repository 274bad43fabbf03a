"""The store a twelve-factor app runs on, from environment variables: the one resolver.

:func:`store_config_from_env` reads the variables into a :class:`~kode_core.StoreConfig`
(kind, server-side options, namespace) that any service family can open. The
variables follow the KODE SDK's names where it has them::

    KODE_STORE_TYPE     a kind or alias: sqlite (default) | postgres or pg | mongo | redis | memory
    KODE_NAMESPACE      the default namespace (wire descriptors may still set their own)

and each kind reads its own, registered by its plugin (``kode backends`` lists them)::

    KODE_SQLITE_PATH    sqlite: the database file (default: the embedded ./.kode/kode.db)
    KODE_PG_URL         pg: a postgresql:// URL, or else the parts below
    POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD
    KODE_MONGO_URL      mongo: a mongodb:// URL
    KODE_REDIS_URL      redis: a redis:// URL

Only the variables of the chosen kind are read; one that is unset keeps the option's
default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ._descriptor import EMBEDDED_KIND, StoreConfig, embedded_default
from ._errors import ConfigurationError, UnknownKindError
from ._registry import Registry, default_registry

STORE_TYPE_ENV = "KODE_STORE_TYPE"
NAMESPACE_ENV = "KODE_NAMESPACE"


def store_config_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    require_location: bool = False,
    registry: Registry | None = None,
) -> StoreConfig:
    """The store ``environ`` (default :data:`os.environ`) names, for any service family.

    Without ``KODE_STORE_TYPE`` (or with it empty) it is SQLite; without
    ``KODE_SQLITE_PATH`` that is the embedded default, ``./.kode/kode.db``. Example::

        config = kode_core.store_config_from_env()
        stores = kode_core.session_stores(config.defaults())
        store = stores.build(config.descriptor())

    With ``require_location`` a server engine must be located by its variables
    (``KODE_PG_URL`` or ``POSTGRES_HOST``, ``KODE_MONGO_URL``, ``KODE_REDIS_URL``)
    instead of falling back to the driver's localhost default.

    Raises :class:`~kode_core.ConfigurationError` naming the variable at fault: an
    unknown ``KODE_STORE_TYPE``, a missing required variable, or values that do not
    make options. The option values are validated when a builder map is made.
    """
    env = os.environ if environ is None else environ
    reg = registry or default_registry()
    store_type = (env.get(STORE_TYPE_ENV) or "").strip().lower()  # empty: unset
    namespace = env.get(NAMESPACE_ENV)
    if not store_type and EMBEDDED_KIND not in reg.kinds:
        return embedded_default(namespace)  # opening it says which plugin is missing
    try:
        kind = reg.resolve_kind(store_type or EMBEDDED_KIND)
    except UnknownKindError:
        raise ConfigurationError(
            f"{STORE_TYPE_ENV}={store_type!r} is not a store type; "
            f"use one of {', '.join(reg.names())}"
        ) from None
    info = reg.get(kind)
    location = info.env_location
    if require_location and location and not any(env.get(name) for name in location):
        raise ConfigurationError(
            f"{STORE_TYPE_ENV}={store_type} needs {' or '.join(location)} to be set"
        )
    options: dict[str, Any] = {}
    if info.env_options is not None:
        try:
            options = info.env_options(env)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    if kind == EMBEDDED_KIND and not options:
        return embedded_default(namespace)
    return StoreConfig(kind, options, namespace)


def defaults_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``{kind: server-side options}`` for any family's builder map, from ``environ``.

    The defaults of :func:`store_config_from_env`, namespace included. Example::

        stores = kode_core.session_stores(kode_core.defaults_from_env())
        store = stores.build({"kind": stores.kinds[0]})
    """
    return store_config_from_env(environ).defaults()
