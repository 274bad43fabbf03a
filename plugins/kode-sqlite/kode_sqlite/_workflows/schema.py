"""Tables, indexes and the schema version of the sqlite workflow store.

A namespace's workflow tables carry its name as a prefix (``<namespace>__wf_runs``...);
their schema version is recorded in ``kode_meta`` under the component ``workflows``.
"""

from __future__ import annotations

import attrs

from kode_core.backend import SchemaComponent

from .._schema import SqliteMigration, quote


@attrs.frozen
class WorkflowTables:
    """The quoted names of one namespace's workflow tables."""

    namespace: str
    runs: str
    state: str
    steps: str
    attempts: str
    versions: str
    leases: str

    @classmethod
    def for_namespace(cls, namespace: str) -> WorkflowTables:
        def name(table: str) -> str:
            return quote(f"{namespace}__wf_{table}")

        return cls(
            namespace,
            runs=name("runs"),
            state=name("state"),
            steps=name("steps"),
            attempts=name("attempts"),
            versions=name("versions"),
            leases=name("leases"),
        )

    def index(self, name: str) -> str:
        return quote(f"{self.namespace}__wf_{name}")


def _step_columns() -> str:
    return """
        step_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        step_name TEXT NOT NULL,
        rpc_name TEXT,
        data TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        error TEXT,
        attempt_count INTEGER NOT NULL,
        retries INTEGER,
        retry_delay REAL,
        from_step_name TEXT,
        child_run_id TEXT,
        branch_taken TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        running_ms INTEGER,
        scheduled_ms INTEGER,
        succeeded_ms INTEGER,
        failed_ms INTEGER"""


def _version_1(namespace: str) -> list[str]:
    t = WorkflowTables.for_namespace(namespace)
    return [
        f"""CREATE TABLE {t.runs} (
            run_id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            status TEXT NOT NULL,
            spec TEXT NOT NULL,
            output TEXT,
            error TEXT,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        ) WITHOUT ROWID""",
        # Newest first, overall and per workflow; by status and age for stalled runs,
        # the console's status filter and retention.
        f"CREATE INDEX {t.index('runs_by_time')} ON {t.runs} (created_ms, run_id)",
        f"""CREATE INDEX {t.index("runs_by_workflow")}
            ON {t.runs} (workflow, created_ms, run_id)""",
        f"""CREATE INDEX {t.index("runs_by_status")}
            ON {t.runs} (status, updated_ms, run_id)""",
        f"""CREATE TABLE {t.state} (
            run_id TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, name)
        ) WITHOUT ROWID""",
        # (run_id, step_name) is unique: the losing insert of a race fails here.
        f"""CREATE TABLE {t.steps} ({_step_columns()},
            PRIMARY KEY (step_id),
            UNIQUE (run_id, step_name)
        ) WITHOUT ROWID""",
        f"""CREATE INDEX {t.index("steps_by_status")}
            ON {t.steps} (status, updated_ms, step_id)""",
        f"""CREATE TABLE {t.attempts} ({_step_columns()},
            PRIMARY KEY (step_id, attempt_count)
        ) WITHOUT ROWID""",
        f"""CREATE INDEX {t.index("attempts_by_run")}
            ON {t.attempts} (run_id, created_ms, attempt_count)""",
        f"""CREATE TABLE {t.versions} (
            workflow_name TEXT NOT NULL,
            graph_hash TEXT NOT NULL,
            graph TEXT NOT NULL,
            source TEXT,
            status TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            PRIMARY KEY (workflow_name, graph_hash)
        ) WITHOUT ROWID""",
        # One lease per run ever locked; owner NULL when free; token never goes down.
        f"""CREATE TABLE {t.leases} (
            run_id TEXT PRIMARY KEY,
            owner TEXT,
            expires_ms INTEGER NOT NULL,
            token INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ]


#: The workflow tables.
WORKFLOWS: SchemaComponent[SqliteMigration] = SchemaComponent("workflows", 1, {1: _version_1})
