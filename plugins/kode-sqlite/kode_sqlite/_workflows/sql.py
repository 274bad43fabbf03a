"""The SQL statements of the sqlite workflow store, made once per namespace."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from kode_core.workflows import FINISHED_STATUSES, STEP_COLUMNS, RunStatus, StepStatus

from .schema import WorkflowTables

RUN_COLUMNS = "run_id, workflow, status, spec, output, error, created_ms, updated_ms"
VERSION_COLUMNS = "workflow_name, graph_hash, graph, source, status, created_ms"
STEPS = ", ".join(STEP_COLUMNS)
_STEP_PLACEHOLDERS = ", ".join("?" for _ in STEP_COLUMNS)
_FINISHED = ", ".join(f"'{status}'" for status in FINISHED_STATUSES)


def assignments(columns: Iterable[str]) -> str:
    """``a = ?, b = ?`` for columns of :data:`STEP_COLUMNS` (never user text)."""
    names = list(columns)
    assert set(names) <= set(STEP_COLUMNS), names
    return ", ".join(f"{name} = ?" for name in names)


@attrs.frozen
class WorkflowStatements:
    """Every fixed statement of one namespace's workflow tables."""

    tables: WorkflowTables
    insert_run: str
    get_run: str
    update_run_status: str
    list_runs: str
    distinct_workflows: str
    stalled_runs: str
    prunable_runs: str
    get_state: str
    put_state: str
    delete_run: tuple[str, ...]
    insert_step: str
    insert_attempt: str
    get_step: str
    step_by_id: str
    list_steps: str
    list_history: str
    undispatched_steps: str
    insert_version: str
    set_version_status: str
    get_version: str
    lease: str
    take_lease: str
    renew_lease: str
    release_lease: str

    @classmethod
    def for_tables(cls, t: WorkflowTables) -> WorkflowStatements:
        return cls(
            t,
            insert_run=f"INSERT INTO {t.runs} ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            get_run=f"SELECT {RUN_COLUMNS} FROM {t.runs} WHERE run_id = ?",
            update_run_status=f"""UPDATE {t.runs} SET status = ?, output = COALESCE(?, output),
                error = COALESCE(?, error), updated_ms = ? WHERE run_id = ?""",
            list_runs=f"""SELECT {RUN_COLUMNS} FROM {t.runs}
                WHERE (?1 IS NULL OR workflow = ?1) AND (?2 IS NULL OR status = ?2)
                ORDER BY created_ms DESC, run_id DESC LIMIT ?3 OFFSET ?4""",
            distinct_workflows=f"SELECT DISTINCT workflow FROM {t.runs} ORDER BY workflow",
            stalled_runs=f"""SELECT {RUN_COLUMNS} FROM {t.runs}
                WHERE status = '{RunStatus.RUNNING.value}' AND updated_ms < ?
                ORDER BY updated_ms, run_id LIMIT ?""",
            prunable_runs=f"""SELECT run_id FROM {t.runs}
                WHERE status IN ({_FINISHED}) AND updated_ms < ?""",
            get_state=f"SELECT name, value FROM {t.state} WHERE run_id = ?",
            put_state=f"""INSERT INTO {t.state} (run_id, name, value) VALUES (?, ?, ?)
                ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value""",
            delete_run=tuple(
                f"DELETE FROM {table} WHERE run_id = ?"
                for table in (t.attempts, t.steps, t.state, t.runs)  # the run row last
            ),
            insert_step=f"INSERT INTO {t.steps} ({STEPS}) VALUES ({_STEP_PLACEHOLDERS})",
            insert_attempt=f"INSERT INTO {t.attempts} ({STEPS}) VALUES ({_STEP_PLACEHOLDERS})",
            get_step=f"SELECT {STEPS} FROM {t.steps} WHERE run_id = ? AND step_name = ?",
            step_by_id=f"SELECT {STEPS} FROM {t.steps} WHERE step_id = ?",
            list_steps=f"""SELECT {STEPS} FROM {t.steps} WHERE run_id = ?
                ORDER BY created_ms, step_name""",
            list_history=f"""SELECT {STEPS} FROM {t.attempts} WHERE run_id = ?
                ORDER BY created_ms, attempt_count, step_name""",
            undispatched_steps=f"""SELECT {STEPS} FROM {t.steps}
                WHERE status = '{StepStatus.PENDING.value}' AND updated_ms < ?
                ORDER BY updated_ms, step_id LIMIT ?""",
            insert_version=f"""INSERT INTO {t.versions} ({VERSION_COLUMNS})
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            set_version_status=f"""UPDATE {t.versions} SET status = ?
                WHERE workflow_name = ? AND graph_hash = ?""",
            get_version=f"""SELECT {VERSION_COLUMNS} FROM {t.versions}
                WHERE workflow_name = ? AND graph_hash = ?""",
            lease=f"SELECT owner, expires_ms, token FROM {t.leases} WHERE run_id = ?",
            take_lease=f"""INSERT INTO {t.leases} (run_id, owner, expires_ms, token)
                VALUES (?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner,
                expires_ms = excluded.expires_ms, token = excluded.token""",
            renew_lease=f"UPDATE {t.leases} SET expires_ms = ? WHERE run_id = ? AND owner = ?",
            release_lease=f"""UPDATE {t.leases} SET owner = NULL, expires_ms = 0
                WHERE run_id = ? AND owner = ?""",
        )

    def update_step(self, columns: Iterable[str]) -> str:
        """Set ``columns`` of one step row (by step_id)."""
        return f"UPDATE {self.tables.steps} SET {assignments(columns)} WHERE step_id = ?"

    def update_attempt(self, columns: Iterable[str]) -> str:
        """Set ``columns`` of one attempt-history row (by step_id and attempt)."""
        return (
            f"UPDATE {self.tables.attempts} SET {assignments(columns)}"
            " WHERE step_id = ? AND attempt_count = ?"
        )
