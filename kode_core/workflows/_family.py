"""The workflow-store family: its registration and its builders."""

from __future__ import annotations

from .._builders import BuilderMap, Defaults
from .._family import Family
from .._registry import Registry
from ._options import WorkflowOptions
from ._store import WorkflowStore

#: Durable workflow state: runs, unique steps, attempts, run state, claims, locks, versions.
WORKFLOWS: Family[WorkflowStore] = Family(
    "workflows", WorkflowStore, WorkflowOptions, "durable workflow runs, steps and versions"
)


def workflow_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[WorkflowStore]:
    """A builder map of workflow stores, made like :func:`~kode_core.session_stores`.

    Pass a :class:`~kode_core.BackendPool` (``sessions.pool``) to serve every family
    from one client or pool per configuration::

        workflows = workflow_stores(sessions.pool)
        store = workflows.build({"kind": "pg", "options": {"namespace": "tenant_a"}})
    """
    return BuilderMap(WORKFLOWS, defaults, registry=registry)
