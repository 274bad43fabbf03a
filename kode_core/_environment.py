"""Server-side defaults from environment variables, for twelve-factor apps.

The variables follow the KODE SDK's names where it has them::

    KODE_STORE_TYPE     sqlite (default) | postgres or pg | mongo | redis | memory
    KODE_NAMESPACE      the default namespace (wire descriptors may still set their own)
    KODE_SQLITE_PATH    sqlite: the database file
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
from urllib.parse import quote

from ._errors import ConfigurationError

STORE_TYPE_ENV = "KODE_STORE_TYPE"
#: ``KODE_STORE_TYPE`` values and the kinds they select.
STORE_TYPES = {
    "sqlite": "sqlite",
    "postgres": "pg",
    "pg": "pg",
    "mongo": "mongo",
    "mongodb": "mongo",
    "redis": "redis",
    "memory": "memory",
}
#: kind -> {environment variable: option}, the variables read as they are.
_DIRECT = {
    "sqlite": {"KODE_SQLITE_PATH": "path"},
    "pg": {"KODE_PG_URL": "url"},
    "mongo": {"KODE_MONGO_URL": "url"},
    "redis": {"KODE_REDIS_URL": "url"},
    "memory": {},
}
_POSTGRES_PARTS = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER")


def defaults_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``{kind: server-side options}`` for :func:`~kode_core.session_stores`, from ``environ``.

    ``environ`` defaults to :data:`os.environ`. Example::

        stores = kode_core.session_stores(kode_core.defaults_from_env())
        store = stores.build({"kind": stores.kinds[0]})

    Raises :class:`~kode_core.ConfigurationError` naming the variable at fault: an
    unknown ``KODE_STORE_TYPE``, or PostgreSQL parts that do not make a URL. The option
    values themselves are validated when the builder map is made.
    """
    env = os.environ if environ is None else environ
    store_type = (env.get(STORE_TYPE_ENV) or "sqlite").strip().lower()  # empty: unset
    kind = STORE_TYPES.get(store_type)
    if kind is None:
        raise ConfigurationError(
            f"{STORE_TYPE_ENV}={store_type!r} is not a store type; "
            f"use one of {', '.join(sorted(STORE_TYPES))}"
        )
    options: dict[str, Any] = {
        option: env[name] for name, option in _DIRECT[kind].items() if name in env
    }
    if kind == "pg" and "url" not in options and any(name in env for name in _POSTGRES_PARTS):
        options["url"] = _postgres_url(env)
    if "KODE_NAMESPACE" in env:
        options["namespace"] = env["KODE_NAMESPACE"]
    return {kind: options}


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
