"""Storage layout of the ``pg`` workflow store: its tables and their versions.

The workflow tables live in the namespace's schema ``kode_<namespace>`` beside the
other families', with their own version record (component ``workflows``):

``wf_runs``
    One row per run, indexed newest first (overall and per workflow) and by
    ``(status, updated_ms)`` for stalled runs, the status filter and retention.
``wf_state``
    One row per ``(run_id, name)`` state key: a key is merged by an upsert of its row.
``wf_steps``
    One row per step; ``UNIQUE (run_id, step_key)`` makes the losing insert of a
    race fail. Indexed by ``(status, updated_ms)`` for undispatched steps.
``wf_attempts``
    The attempt history: the step's columns per ``(step_id, attempt_count)``.
``wf_versions``
    Workflow graphs by ``(workflow_name, graph_hash)``.
``wf_locks``
    Run-lock leases, timed by the server's clock; kept across a delete so fencing
    tokens never repeat.

A btree entry must stay under about 2,700 bytes and an id may be 512 four-byte
characters, so a key of two ids holds a 256-bit digest of the second one
(``name_key``, ``step_key``, ``hash_key``; see :func:`~.sql.id_digest`) instead of its text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core.backend import SchemaComponent

from .._schema import PgSchema

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_STEP_COLUMNS: LiteralString = """
        step_id text COLLATE "C" NOT NULL,
        run_id text COLLATE "C" NOT NULL,
        step_name text COLLATE "C" NOT NULL,
        rpc_name text,
        data text NOT NULL,
        status text NOT NULL,
        result text,
        error text,
        attempt_count bigint NOT NULL,
        retries bigint,
        retry_delay double precision,
        from_step_name text,
        child_run_id text,
        branch_taken text,
        created_ms bigint NOT NULL,
        updated_ms bigint NOT NULL,
        running_ms bigint,
        scheduled_ms bigint,
        succeeded_ms bigint,
        failed_ms bigint"""

_V1: tuple[LiteralString, ...] = (
    """CREATE TABLE IF NOT EXISTS {schema}.wf_runs (
        run_id text COLLATE "C" PRIMARY KEY,
        workflow text COLLATE "C" NOT NULL,
        status text COLLATE "C" NOT NULL,
        spec text NOT NULL,
        output text,
        error text,
        created_ms bigint NOT NULL,
        updated_ms bigint NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS wf_runs_by_time ON {schema}.wf_runs (created_ms, run_id)",
    """CREATE INDEX IF NOT EXISTS wf_runs_by_workflow
        ON {schema}.wf_runs (workflow, created_ms)""",
    """CREATE INDEX IF NOT EXISTS wf_runs_by_status
        ON {schema}.wf_runs (status, updated_ms, run_id)""",
    """CREATE TABLE IF NOT EXISTS {schema}.wf_state (
        run_id text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        name_key bytea NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (run_id, name_key)
    )""",
    "CREATE TABLE IF NOT EXISTS {schema}.wf_steps ("
    + _STEP_COLUMNS
    + """,
        step_key bytea NOT NULL,
        PRIMARY KEY (step_id),
        UNIQUE (run_id, step_key)
    )""",
    """CREATE INDEX IF NOT EXISTS wf_steps_by_status
        ON {schema}.wf_steps (status, updated_ms, step_id)""",
    "CREATE TABLE IF NOT EXISTS {schema}.wf_attempts ("
    + _STEP_COLUMNS
    + """,
        PRIMARY KEY (step_id, attempt_count)
    )""",
    """CREATE INDEX IF NOT EXISTS wf_attempts_by_run
        ON {schema}.wf_attempts (run_id, created_ms, attempt_count)""",
    """CREATE TABLE IF NOT EXISTS {schema}.wf_versions (
        workflow_name text COLLATE "C" NOT NULL,
        graph_hash text COLLATE "C" NOT NULL,
        hash_key bytea NOT NULL,
        graph text NOT NULL,
        source text,
        status text NOT NULL,
        created_ms bigint NOT NULL,
        PRIMARY KEY (workflow_name, hash_key)
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.wf_locks (
        run_id text COLLATE "C" PRIMARY KEY,
        owner text,
        expires_at timestamptz,
        token bigint NOT NULL
    )""",
)

#: The workflow tables, migrated under the namespace's one migration lock.
WORKFLOWS: PgSchema = SchemaComponent("workflows", 1, {1: _V1})
