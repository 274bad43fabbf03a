"""The ``kode`` entry point of kode-pg: registers the ``pg`` kind and its stores.

Operators name the kind ``pg`` (or ``postgres``, ``postgresql``), by a
``postgresql://`` or ``postgres://`` store URL, or by ``KODE_PG_URL`` or the
``POSTGRES_*`` variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kode_core.backend import Registry, hookimpl, server_url_options

from ._agents.store import PgAgentStore
from ._backend import PgBackend
from ._channels.store import PgChannelStore
from ._deployments.store import PgDeploymentStore
from ._options import PgOptions
from ._runs.store import PgRunStore
from ._secrets.store import PgSecretStore
from ._sessions.store import PgSessionStore
from ._threads.store import PgThreadStore
from ._workflows.store import PgWorkflowStore

#: The variables a URL is assembled from when ``KODE_PG_URL`` is not set (a password
#: alone locates no server).
_POSTGRES_PARTS = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER")


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the ``pg`` kind, which provides a store of every kode family."""
    registry.add_backend(
        "pg",
        options=PgOptions,
        factory=PgBackend,
        stores={
            "sessions": PgSessionStore,
            "agents": PgAgentStore,
            "secrets": PgSecretStore,
            "channels": PgChannelStore,
            "deployments": PgDeploymentStore,
            "workflows": PgWorkflowStore,
            "threads": PgThreadStore,
            "runs": PgRunStore,
        },
        aliases=("postgres", "postgresql"),
        url_schemes=("postgresql", "postgres"),
        url_options=server_url_options,
        env_options=_env_options,
        env_location=("KODE_PG_URL", "POSTGRES_HOST"),
    )


def _env_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """``KODE_PG_URL`` as ``url``, or else a URL made of the ``POSTGRES_*`` parts."""
    if "KODE_PG_URL" in environ:
        return {"url": environ["KODE_PG_URL"]}
    if any(name in environ for name in _POSTGRES_PARTS):
        return {"url": _postgres_url(environ)}
    return {}


def _postgres_url(environ: Mapping[str, str]) -> str:
    """``postgresql://user[:password]@host:port/db`` from the ``POSTGRES_*`` variables,
    with the credentials and database quoted."""
    port = environ.get("POSTGRES_PORT", "5432")
    if not port.isdigit():
        raise ValueError(f"POSTGRES_PORT={port!r} is not a port number")
    user = quote(environ.get("POSTGRES_USER", "postgres"), safe="")
    password = environ.get("POSTGRES_PASSWORD")
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = environ.get("POSTGRES_HOST", "localhost")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    database = quote(environ.get("POSTGRES_DB", "postgres"), safe="")
    return f"postgresql://{credentials}@{host}:{port}/{database}"
