"""Tables of the thread and run stores, shared by both families of a namespace.

Both families' tables live in the namespace's schema ``kode_<namespace>`` and are
created together, ``IF NOT EXISTS``, by either family's first migration (each
records its own version in ``kode_meta``: ``threads``, ``runs``), so deleting a
thread deletes its runs and scores in one transaction.

``thread_threads``
    One row per thread; the console lists by ``(updated_ms, id)``.
``thread_messages``
    ``(thread_id, seq)`` is the stored order; ``(thread_id, md5(id))`` unique makes a
    repeated save a no-op (a digest keeps long ids under the btree entry limit).
``thread_memory``
    Working memory per ``(scope, id)``.
``run_runs``, ``run_approvals``, ``run_scores``
    Runs; one row per approval (pending while ``decision`` is null), keyed by
    ``tool_call_id``; scores in insertion order.

Text columns compared or sorted use the ``"C"`` collation (code point order), which
the owners filter's ranges rely on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core.backend import SchemaComponent

from .._schema import PgSchema

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_V1: tuple[LiteralString, ...] = (
    """CREATE TABLE IF NOT EXISTS {schema}.thread_threads (
        id text COLLATE "C" PRIMARY KEY,
        resource_id text COLLATE "C" NOT NULL,
        created_ms bigint NOT NULL,
        updated_ms bigint NOT NULL,
        body text NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS thread_threads_by_resource
        ON {schema}.thread_threads (resource_id, updated_ms)""",
    """CREATE INDEX IF NOT EXISTS thread_threads_by_update
        ON {schema}.thread_threads (updated_ms, id)""",
    """CREATE TABLE IF NOT EXISTS {schema}.thread_messages (
        thread_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        id text NOT NULL,
        created_ms bigint NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (thread_id, seq)
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS thread_messages_by_id
        ON {schema}.thread_messages (thread_id, md5(id))""",
    """CREATE TABLE IF NOT EXISTS {schema}.thread_memory (
        scope text NOT NULL,
        id text COLLATE "C" NOT NULL,
        updated_ms bigint NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (scope, id)
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.run_runs (
        run_id text COLLATE "C" PRIMARY KEY,
        thread_id text COLLATE "C" NOT NULL,
        resource_id text NOT NULL,
        agent_name text COLLATE "C" NOT NULL,
        status text NOT NULL,
        created_ms bigint NOT NULL,
        updated_ms bigint NOT NULL,
        body text NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS run_runs_by_thread
        ON {schema}.run_runs (thread_id, created_ms)""",
    "CREATE INDEX IF NOT EXISTS run_runs_by_agent ON {schema}.run_runs (agent_name)",
    """CREATE TABLE IF NOT EXISTS {schema}.run_approvals (
        tool_call_id text COLLATE "C" PRIMARY KEY,
        run_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        body text,
        decision text,
        resolved_ms bigint
    )""",
    "CREATE INDEX IF NOT EXISTS run_approvals_by_run ON {schema}.run_approvals (run_id)",
    """CREATE TABLE IF NOT EXISTS {schema}.run_scores (
        id bigserial PRIMARY KEY,
        run_id text COLLATE "C" NOT NULL,
        created_ms bigint NOT NULL,
        body text NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS run_scores_by_run ON {schema}.run_scores (run_id, id)",
)

#: The thread family's version of the shared tables.
THREADS: PgSchema = SchemaComponent("threads", 1, {1: _V1})
#: The run family's version of the same tables.
RUNS: PgSchema = SchemaComponent("runs", 1, {1: _V1})
