"""Tables of the thread and run stores, shared by both families of a namespace.

Threads and runs of a namespace live in one set of tables (``<namespace>__thread_*``,
``<namespace>__run_*``) so that deleting a thread deletes its runs and scores in
the same transaction. Each family records its own version in ``kode_meta``
(``threads``, ``runs``); either family's first migration creates every table
(``IF NOT EXISTS``), so the thread store can always reach the run tables.
"""

from __future__ import annotations

import attrs

from kode_core.backend import SchemaComponent

from .._schema import SqliteMigration, quote


@attrs.frozen
class ConversationTables:
    """The quoted names of one namespace's thread and run tables."""

    namespace: str
    threads: str
    messages: str
    memory: str
    runs: str
    approvals: str
    scores: str

    @classmethod
    def for_namespace(cls, namespace: str) -> ConversationTables:
        def name(table: str) -> str:
            return quote(f"{namespace}__{table}")

        return cls(
            namespace,
            threads=name("thread_threads"),
            messages=name("thread_messages"),
            memory=name("thread_memory"),
            runs=name("run_runs"),
            approvals=name("run_approvals"),
            scores=name("run_scores"),
        )

    def index(self, name: str) -> str:
        return quote(f"{self.namespace}__{name}")


def _version_1(namespace: str) -> list[str]:
    t = ConversationTables.for_namespace(namespace)
    # TEXT columns use the default BINARY collation (code point order), which the
    # owners filter's ranges rely on.
    return [
        f"""CREATE TABLE IF NOT EXISTS {t.threads} (
            id TEXT PRIMARY KEY,
            resource_id TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        f"""CREATE INDEX IF NOT EXISTS {t.index("thread_threads_by_resource")}
            ON {t.threads} (resource_id, updated_ms, id)""",
        f"""CREATE INDEX IF NOT EXISTS {t.index("thread_threads_by_update")}
            ON {t.threads} (updated_ms, id)""",
        # seq is the stored order; (thread_id, id) unique makes a repeated save a no-op.
        f"""CREATE TABLE IF NOT EXISTS {t.messages} (
            thread_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (thread_id, seq),
            UNIQUE (thread_id, id)
        ) WITHOUT ROWID""",
        f"""CREATE TABLE IF NOT EXISTS {t.memory} (
            scope TEXT NOT NULL,
            id TEXT NOT NULL,
            updated_ms INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (scope, id)
        ) WITHOUT ROWID""",
        f"""CREATE TABLE IF NOT EXISTS {t.runs} (
            run_id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            agent_name TEXT NOT NULL,
            status TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        f"""CREATE INDEX IF NOT EXISTS {t.index("run_runs_by_thread")}
            ON {t.runs} (thread_id, created_ms, run_id)""",
        f"""CREATE INDEX IF NOT EXISTS {t.index("run_runs_by_agent")}
            ON {t.runs} (agent_name, thread_id)""",
        # One row per approval: pending while decision IS NULL. tool_call_id is the key
        # find_run_by_tool_call_id looks up and resolve_approval claims.
        f"""CREATE TABLE IF NOT EXISTS {t.approvals} (
            tool_call_id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            body TEXT,
            decision TEXT,
            resolved_ms INTEGER
        )""",
        f"""CREATE INDEX IF NOT EXISTS {t.index("run_approvals_by_run")}
            ON {t.approvals} (run_id)""",
        f"""CREATE TABLE IF NOT EXISTS {t.scores} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        f"CREATE INDEX IF NOT EXISTS {t.index('run_scores_by_run')} ON {t.scores} (run_id, id)",
    ]


#: The thread family's version of the shared tables.
THREADS: SchemaComponent[SqliteMigration] = SchemaComponent("threads", 1, {1: _version_1})
#: The run family's version of the same tables.
RUNS: SchemaComponent[SqliteMigration] = SchemaComponent("runs", 1, {1: _version_1})
