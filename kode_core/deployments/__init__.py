"""The deployment store: running instances, their endpoints, functions and heartbeats.

Users build stores with :func:`deployment_stores` and keep an instance registered
with :func:`heartbeating`; engine authors implement :class:`DeploymentStore`'s
underscore primitives.
"""

from ._family import DEPLOYMENTS, deployment_stores
from ._heartbeat import heartbeating
from ._memory import MemoryDeploymentStore
from ._options import DeploymentOptions
from ._records import Deployment
from ._store import DeploymentStore, check_functions

__all__ = [
    "DEPLOYMENTS",
    "Deployment",
    "DeploymentOptions",
    "DeploymentStore",
    "MemoryDeploymentStore",
    "check_functions",
    "deployment_stores",
    "heartbeating",
]
