"""The ``kode`` entry point of kode-sqlite: registers the ``sqlite`` kind and its stores.

Operators name the kind ``sqlite``, by a ``sqlite:///relative/path.db`` or
``sqlite:////absolute/path.db`` store URL, or by ``KODE_SQLITE_PATH``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, unquote

from kode_core.backend import Registry, env_reader, hookimpl

from ._agents.store import SqliteAgentStore
from ._backend import SqliteBackend
from ._channels.store import SqliteChannelStore
from ._deployments.store import SqliteDeploymentStore
from ._options import SqliteOptions
from ._runs.store import SqliteRunStore
from ._secrets.store import SqliteSecretStore
from ._sessions.store import SqliteSessionStore
from ._threads.store import SqliteThreadStore
from ._workflows.store import SqliteWorkflowStore

_URL_USAGE = "write sqlite:///relative/path.db or sqlite:////absolute/path.db"


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    """Register the ``sqlite`` kind, which provides session, agent and secret stores."""
    registry.add_backend(
        "sqlite",
        options=SqliteOptions,
        factory=SqliteBackend,
        stores={
            "sessions": SqliteSessionStore,
            "agents": SqliteAgentStore,
            "secrets": SqliteSecretStore,
            "channels": SqliteChannelStore,
            "deployments": SqliteDeploymentStore,
            "workflows": SqliteWorkflowStore,
            "threads": SqliteThreadStore,
            "runs": SqliteRunStore,
        },
        url_schemes=("sqlite",),
        url_options=_url_options,
        env_options=env_reader({"KODE_SQLITE_PATH": "path"}),
    )


def _url_options(parts: SplitResult) -> dict[str, Any]:
    """``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``: the ``path``."""
    if parts.netloc:
        raise ValueError(f"a sqlite URL has no host ({parts.netloc!r}); {_URL_USAGE}")
    if parts.query:
        raise ValueError(f"a sqlite URL takes no query; {_URL_USAGE}")
    path = unquote(parts.path)[1:]  # the third slash ends the empty authority
    if not path:
        raise ValueError(f"no database file named; {_URL_USAGE}")
    return {"path": path}
