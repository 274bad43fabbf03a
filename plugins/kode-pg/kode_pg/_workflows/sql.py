"""The SQL of the ``pg`` workflow store, composed once per namespace.

Values are always parameters; column names come from the core's fixed
:data:`~kode_core.workflows.STEP_COLUMNS` and are quoted as identifiers.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from psycopg import sql

from kode_core.workflows import FINISHED_STATUSES, STEP_COLUMNS

from .._schema import schema_sql

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_RUN: LiteralString = "run_id, workflow, status, spec, output, error, created_ms, updated_ms"
_VERSION: LiteralString = "workflow_name, graph_hash, graph, source, status, created_ms"
_STEPS = sql.SQL(", ").join(sql.Identifier(column) for column in STEP_COLUMNS)
_STEP_VALUES = sql.SQL(", ").join(sql.Placeholder() for _ in STEP_COLUMNS)


def _assignments(columns: Iterable[str]) -> sql.Composed:
    names = list(columns)
    assert set(names) <= set(STEP_COLUMNS), names
    return sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in names)


class WorkflowStatements:
    """The composed statements of one namespace's workflow tables."""

    def __init__(self, namespace: str) -> None:
        schema = schema_sql(namespace)
        self.schema = schema

        def q(text: LiteralString) -> sql.Composed:
            return sql.SQL(text).format(s=schema, steps=_STEPS, step_values=_STEP_VALUES)

        self.insert_run = q(
            f"INSERT INTO {{s}}.wf_runs ({_RUN}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (run_id) DO NOTHING RETURNING 1"
        )
        self.get_run = q(f"SELECT {_RUN} FROM {{s}}.wf_runs WHERE run_id = %s")
        self.update_run_status = q(
            "UPDATE {s}.wf_runs SET status = %s, output = COALESCE(%s, output),"
            " error = COALESCE(%s, error), updated_ms = %s WHERE run_id = %s"
        )
        self.list_runs = q(f"SELECT {_RUN} FROM {{s}}.wf_runs")
        self.runs_order = sql.SQL(" ORDER BY created_ms DESC, run_id DESC LIMIT %s OFFSET %s")
        self.distinct_workflows = q("SELECT DISTINCT workflow FROM {s}.wf_runs ORDER BY workflow")
        self.stalled_runs = q(
            f"SELECT {_RUN} FROM {{s}}.wf_runs WHERE status = 'running' AND updated_ms < %s"
            " ORDER BY updated_ms, run_id LIMIT %s"
        )
        self.prunable_runs = q(
            "SELECT run_id FROM {s}.wf_runs WHERE status = ANY(%s) AND updated_ms < %s"
            " FOR UPDATE SKIP LOCKED"
        )
        self.finished = list(FINISHED_STATUSES)
        self.get_state = q("SELECT name, value FROM {s}.wf_state WHERE run_id = %s")
        self.put_state = q(
            "INSERT INTO {s}.wf_state (run_id, name, name_key, value) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (run_id, name_key) DO UPDATE SET value = EXCLUDED.value"
        )
        # One statement: the run row and everything hanging off it go together.
        self.delete_runs = q(
            "WITH gone AS (DELETE FROM {s}.wf_runs WHERE run_id = ANY(%(ids)s) RETURNING run_id),"
            " a AS (DELETE FROM {s}.wf_attempts WHERE run_id = ANY(%(ids)s)),"
            " st AS (DELETE FROM {s}.wf_steps WHERE run_id = ANY(%(ids)s)),"
            " kv AS (DELETE FROM {s}.wf_state WHERE run_id = ANY(%(ids)s))"
            " SELECT count(*) FROM gone"
        )
        self.insert_step = q(
            "INSERT INTO {s}.wf_steps ({steps}, step_key) VALUES ({step_values}, %s)"
        )
        self.insert_attempt = q("INSERT INTO {s}.wf_attempts ({steps}) VALUES ({step_values})")
        self.get_step = q("SELECT {steps} FROM {s}.wf_steps WHERE run_id = %s AND step_key = %s")
        self.lock_step = q(
            "SELECT {steps} FROM {s}.wf_steps WHERE run_id = %s AND step_key = %s FOR UPDATE"
        )
        self.lock_step_by_id = q("SELECT {steps} FROM {s}.wf_steps WHERE step_id = %s FOR UPDATE")
        self.list_steps = q(
            "SELECT {steps} FROM {s}.wf_steps WHERE run_id = %s ORDER BY created_ms, step_name"
        )
        self.list_history = q(
            "SELECT {steps} FROM {s}.wf_attempts WHERE run_id = %s"
            " ORDER BY created_ms, attempt_count, step_name"
        )
        self.undispatched_steps = q(
            "SELECT {steps} FROM {s}.wf_steps WHERE status = 'pending' AND updated_ms < %s"
            " ORDER BY updated_ms, step_id LIMIT %s"
        )
        self.insert_version = q(
            f"INSERT INTO {{s}}.wf_versions ({_VERSION}, hash_key)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
        )
        self.set_version_status = q(
            "UPDATE {s}.wf_versions SET status = %s WHERE workflow_name = %s AND hash_key = %s"
        )
        self.get_version = q(
            f"SELECT {_VERSION} FROM {{s}}.wf_versions WHERE workflow_name = %s AND hash_key = %s"
        )
        # The lease: taken if absent, released or lapsed by the server's clock, with the
        # grant counter bumped in the same statement (tokens only ever grow).
        self.lock_acquire = q(
            "INSERT INTO {s}.wf_locks AS l (run_id, owner, expires_at, token)"
            " VALUES (%(r)s, %(o)s,"
            " clock_timestamp() + %(ms)s::bigint * interval '1 millisecond', 1)"
            " ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner,"
            " expires_at = EXCLUDED.expires_at, token = l.token + 1"
            " WHERE l.owner IS NULL OR l.expires_at <= clock_timestamp()"
            " RETURNING token"
        )
        self.lock_renew = q(
            "UPDATE {s}.wf_locks"
            " SET expires_at = clock_timestamp() + %(ms)s::bigint * interval '1 millisecond'"
            " WHERE run_id = %(r)s AND owner = %(o)s"
        )
        self.lock_release = q(
            "UPDATE {s}.wf_locks SET owner = NULL, expires_at = NULL"
            " WHERE run_id = %(r)s AND owner = %(o)s"
        )

    def list_runs_where(self, workflow: str | None, status: str | None) -> sql.Composed:
        """The console's run listing with only the filters given (so an index serves it)."""
        where: list[sql.Composable] = []
        if workflow is not None:
            where.append(sql.SQL("workflow = %s"))
        if status is not None:
            where.append(sql.SQL("status = %s"))
        clause = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL("")
        return sql.Composed([self.list_runs, clause, self.runs_order])

    def update_step(self, columns: Iterable[str]) -> sql.Composed:
        """Set ``columns`` of one step row, by step_id."""
        return sql.SQL("UPDATE {}.wf_steps SET {} WHERE step_id = %s").format(
            self.schema, _assignments(columns)
        )

    def update_attempt(self, columns: Iterable[str]) -> sql.Composed:
        """Set ``columns`` of one attempt-history row, by step_id and attempt."""
        return sql.SQL(
            "UPDATE {}.wf_attempts SET {} WHERE step_id = %s AND attempt_count = %s"
        ).format(self.schema, _assignments(columns))


def id_digest(text: str) -> bytes:
    """The 256-bit digest that stands for the second id of a two-id key in its index."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=32).digest()


@functools.lru_cache(maxsize=1024)
def workflow_statements(namespace: str) -> WorkflowStatements:
    """The composed statements of ``namespace``'s workflow tables."""
    return WorkflowStatements(namespace)
