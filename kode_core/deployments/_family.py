"""The deployment family: its registration and its builders."""

from __future__ import annotations

from .._builders import BuilderMap, Defaults
from .._family import Family
from .._registry import Registry
from ._options import DeploymentOptions
from ._store import DeploymentStore

#: The running instances of a service: endpoints, functions, heartbeats.
DEPLOYMENTS: Family[DeploymentStore] = Family(
    "deployments", DeploymentStore, DeploymentOptions, "running instances and their functions"
)


def deployment_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[DeploymentStore]:
    """A builder map of deployment stores, made like :func:`~kode_core.session_stores`.

    Pass another family's :class:`~kode_core.BackendPool` (``sessions.pool``) to share
    one client or pool per configuration.
    """
    return BuilderMap(DEPLOYMENTS, defaults, registry=registry)
