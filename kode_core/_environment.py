"""The store a twelve-factor app runs on, from environment variables: the one resolver.

:func:`store_config_from_env` reads the variables into a :class:`~kode_core.StoreConfig`
(kind, server-side options, namespace) that any service family can open;
:func:`defaults_from_env` and :func:`store_from_env` are the session-store conveniences
on top of it. The variables follow the KODE SDK's names where it has them::

    KODE_STORE_TYPE     sqlite (default) | postgres or pg | mongo | redis | memory
    KODE_NAMESPACE      the default namespace (wire descriptors may still set their own)
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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from ._errors import ConfigurationError
from ._registry import Registry
from ._session_store import SessionStore
from ._store_url import KIND_ALIASES, StoreConfig, embedded_default

STORE_TYPE_ENV = "KODE_STORE_TYPE"
#: ``KODE_STORE_TYPE`` values and the kinds they select.
STORE_TYPES = KIND_ALIASES
#: kind -> {environment variable: option}, the variables read as they are.
_DIRECT = {
    "sqlite": {"KODE_SQLITE_PATH": "path"},
    "pg": {"KODE_PG_URL": "url"},
    "mongo": {"KODE_MONGO_URL": "url"},
    "redis": {"KODE_REDIS_URL": "url"},
    "memory": {},
}
_POSTGRES_PARTS = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER")


#: kind -> the variables of which one must be set when ``require_location`` is on.
_LOCATION = {
    "pg": ("KODE_PG_URL", "POSTGRES_HOST"),
    "mongo": ("KODE_MONGO_URL",),
    "redis": ("KODE_REDIS_URL",),
}


def store_config_from_env(
    environ: Mapping[str, str] | None = None, *, require_location: bool = False
) -> StoreConfig:
    """The store ``environ`` (default :data:`os.environ`) names, for any service family.

    Without ``KODE_STORE_TYPE`` (or with it empty) it is SQLite; without
    ``KODE_SQLITE_PATH`` that is the embedded default, ``./.kode/kode.db``. Example, a
    builder map of another service family made the same way::

        config = kode_core.store_config_from_env()
        stores = kode_core.session_stores(config.defaults())
        store = stores.build(config.descriptor())

    With ``require_location`` a server engine must be located by its variables
    (``KODE_PG_URL`` or ``POSTGRES_HOST``, ``KODE_MONGO_URL``, ``KODE_REDIS_URL``)
    instead of falling back to the driver's localhost default.

    Raises :class:`~kode_core.ConfigurationError` naming the variable at fault: an
    unknown ``KODE_STORE_TYPE``, a missing required variable, or PostgreSQL parts that
    do not make a URL. The option values are validated when a builder map is made.
    """
    env = os.environ if environ is None else environ
    store_type = (env.get(STORE_TYPE_ENV) or "sqlite").strip().lower()  # empty: unset
    kind = STORE_TYPES.get(store_type)
    if kind is None:
        raise ConfigurationError(
            f"{STORE_TYPE_ENV}={store_type!r} is not a store type; "
            f"use one of {', '.join(sorted(STORE_TYPES))}"
        )
    namespace = env.get("KODE_NAMESPACE")
    location = _LOCATION.get(kind, ())
    if require_location and location and not any(env.get(name) for name in location):
        raise ConfigurationError(
            f"{STORE_TYPE_ENV}={store_type} needs {' or '.join(location)} to be set"
        )
    if kind == "sqlite" and "KODE_SQLITE_PATH" not in env:
        return embedded_default(namespace)
    options: dict[str, Any] = {
        option: env[name] for name, option in _DIRECT[kind].items() if name in env
    }
    if kind == "pg" and "url" not in options and any(name in env for name in _POSTGRES_PARTS):
        options["url"] = _postgres_url(env)
    return StoreConfig(kind, options, namespace)


def defaults_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``{kind: server-side options}`` for :func:`~kode_core.session_stores`, from ``environ``.

    The defaults of :func:`store_config_from_env`, namespace included. Example::

        stores = kode_core.session_stores(kode_core.defaults_from_env())
        store = stores.build({"kind": stores.kinds[0]})
    """
    return store_config_from_env(environ).defaults()


@asynccontextmanager
async def store_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    registry: Registry | None = None,
    **overrides: Any,
) -> AsyncIterator[SessionStore]:
    """Open the session store the environment names; close its backend on exit.

    ``overrides`` set more server-side options. Example::

        async with kode_core.store_from_env() as store:
            await store.append({"project_key": "p", "session_id": "s"}, [{"type": "user"}])
    """
    config = store_config_from_env(environ)
    async with config.session_store(registry=registry, **overrides) as store:
        yield store


def _postgres_url(env: Mapping[str, str]) -> str:
    port = env.get("POSTGRES_PORT", "5432")
    if not port.isdigit():
        raise ConfigurationError(f"POSTGRES_PORT={port!r} is not a port number")
    user = quote(env.get("POSTGRES_USER", "postgres"), safe="")
    password = env.get("POSTGRES_PASSWORD")
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = env.get("POSTGRES_HOST", "localhost")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    database = quote(env.get("POSTGRES_DB", "postgres"), safe="")
    return f"postgresql://{credentials}@{host}:{port}/{database}"
