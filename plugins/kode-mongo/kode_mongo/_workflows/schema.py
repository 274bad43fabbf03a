"""Storage layout of the ``mongo`` workflow store and its indexes.

The collections are named ``<namespace>.wf_*`` in the configured database; their
schema version is the ``{_id: "workflows"}`` document of ``<namespace>.kode_meta``.

``wf_runs``
    ``{_id: run id, workflow, status, spec, output, error, created_ms, updated_ms}``,
    indexed newest first (overall and per workflow) and by ``(status, updated_ms)``.
``wf_state``
    ``{_id: {r: run id, n: key}, r, v: JSON}``: one document per state key.
``wf_steps``
    ``{_id: step id, <the step columns>, rev, attempts: [attempt rows]}``, unique on
    ``(run_id, step_name)``, indexed by ``(status, updated_ms)``. The attempt history
    is embedded, so a step and its history change in one single-document write.
``wf_versions``
    ``{_id: {w: workflow name, h: graph hash}, graph, source, status, created_ms}``.
``wf_locks``
    ``{_id: run id, owner, grant, expires: server ms, token}``: lease and fencing counter.
"""

from __future__ import annotations

import attrs
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from .._schema import Collection, Document, MongoSchema

#: The workflow-store collections and their indexes.
WORKFLOWS = MongoSchema(
    "workflows",
    1,
    {
        1: {
            "wf_runs": [
                IndexModel([("created_ms", DESCENDING), ("_id", DESCENDING)], name="newest"),
                IndexModel(
                    [("workflow", ASCENDING), ("created_ms", DESCENDING), ("_id", DESCENDING)],
                    name="workflow_newest",
                ),
                IndexModel(
                    [("status", ASCENDING), ("updated_ms", ASCENDING), ("_id", ASCENDING)],
                    name="status_updated",
                ),
            ],
            "wf_state": [IndexModel([("r", ASCENDING)], name="run")],
            "wf_steps": [
                IndexModel(
                    [("run_id", ASCENDING), ("step_name", ASCENDING)],
                    name="run_step",
                    unique=True,
                ),
                IndexModel(
                    [("status", ASCENDING), ("updated_ms", ASCENDING), ("_id", ASCENDING)],
                    name="status_updated",
                ),
            ],
        }
    },
)


@attrs.frozen
class WorkflowCollections:
    """The workflow-store collections of one namespace."""

    runs: Collection
    state: Collection
    steps: Collection
    versions: Collection
    locks: Collection

    @classmethod
    def of(cls, database: AsyncDatabase[Document], namespace: str) -> WorkflowCollections:
        def named(suffix: str) -> Collection:
            return database[f"{namespace}.{suffix}"]

        return cls(
            named("wf_runs"),
            named("wf_state"),
            named("wf_steps"),
            named("wf_versions"),
            named("wf_locks"),
        )
