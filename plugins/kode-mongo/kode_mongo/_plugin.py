"""The ``kode`` entry point of kode-mongo: registers the ``mongo`` kind and its stores.

Operators name the kind ``mongo`` (or ``mongodb``), by a ``mongodb://`` or
``mongodb+srv://`` store URL, or by ``KODE_MONGO_URL``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, unquote

from kode_core.backend import Registry, env_reader, hookimpl

from ._agents.store import MongoAgentStore
from ._backend import MongoBackend
from ._channels.store import MongoChannelStore
from ._deployments.store import MongoDeploymentStore
from ._options import MongoOptions
from ._runs.store import MongoRunStore
from ._secrets.store import MongoSecretStore
from ._sessions.store import MongoSessionStore
from ._threads.store import MongoThreadStore
from ._workflows.store import MongoWorkflowStore


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the ``mongo`` kind, which provides a store of every kode family."""
    registry.add_backend(
        "mongo",
        options=MongoOptions,
        factory=MongoBackend,
        stores={
            "sessions": MongoSessionStore,
            "agents": MongoAgentStore,
            "secrets": MongoSecretStore,
            "channels": MongoChannelStore,
            "deployments": MongoDeploymentStore,
            "workflows": MongoWorkflowStore,
            "threads": MongoThreadStore,
            "runs": MongoRunStore,
        },
        aliases=("mongodb",),
        url_schemes=("mongodb", "mongodb+srv"),
        url_options=_url_options,
        env_options=env_reader({"KODE_MONGO_URL": "url"}),
        env_location=("KODE_MONGO_URL",),
    )


def _url_options(parts: SplitResult) -> dict[str, Any]:
    """``mongodb://[user:password@]h1[:port][,h2...]/[database][?options]``: the URL, and
    its path as ``database``."""
    # Seed lists ("h1:27017,h2:27017") are not one host urlsplit can read: check by hand.
    if not parts.netloc.rpartition("@")[2]:
        raise ValueError(f"no host named; e.g. {parts.scheme}://localhost:27017/kode")
    options: dict[str, Any] = {"url": parts._replace(fragment="").geturl()}
    database = unquote(parts.path.lstrip("/"))
    if database:
        options["database"] = database
    return options
