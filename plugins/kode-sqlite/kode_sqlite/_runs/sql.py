"""Reads and writes of run rows on a SQLite connection, shared by both stores.

Each function runs inside the caller's transaction (a ``BEGIN IMMEDIATE`` write or a
read snapshot), so what it reads and writes is consistent.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence

from kode_core import ConflictError
from kode_core.runs import ApprovalRow, StoredRun

from .._threads.schema import ConversationTables

_APPROVAL_COLUMNS = "tool_call_id, run_id, position, body, decision, resolved_ms"


def _approvals(rows: Sequence[tuple[object, ...]]) -> dict[str, list[ApprovalRow]]:
    by_run: dict[str, list[ApprovalRow]] = defaultdict(list)
    for tool_call_id, run_id, position, body, decision, resolved_ms in rows:
        by_run[str(run_id)].append(
            ApprovalRow(str(tool_call_id), str(run_id), int(position), body, decision, resolved_ms)  # type: ignore[arg-type, call-overload]
        )
    return by_run


def load_run(conn: sqlite3.Connection, t: ConversationTables, run_id: str) -> StoredRun | None:
    """The run's body and approval rows."""
    found = conn.execute(f"SELECT body FROM {t.runs} WHERE run_id = ?", (run_id,)).fetchall()
    if not found:
        return None
    rows = conn.execute(
        f"SELECT {_APPROVAL_COLUMNS} FROM {t.approvals} WHERE run_id = ?", (run_id,)
    ).fetchall()
    return StoredRun(found[0][0], _approvals(rows).get(run_id, []))


def load_thread_runs(
    conn: sqlite3.Connection, t: ConversationTables, thread_id: str
) -> list[StoredRun]:
    """The thread's runs, newest first."""
    runs = conn.execute(
        f"""SELECT run_id, body FROM {t.runs} WHERE thread_id = ?
            ORDER BY created_ms DESC, run_id DESC""",
        (thread_id,),
    ).fetchall()
    rows = conn.execute(
        f"""SELECT {_APPROVAL_COLUMNS} FROM {t.approvals}
            WHERE run_id IN (SELECT run_id FROM {t.runs} WHERE thread_id = ?)""",
        (thread_id,),
    ).fetchall()
    by_run = _approvals(rows)
    return [StoredRun(body, by_run.get(run_id, [])) for run_id, body in runs]


def insert_approvals(
    conn: sqlite3.Connection, t: ConversationTables, approvals: Sequence[ApprovalRow]
) -> None:
    """Insert approval rows; ConflictError if a tool call id is stored for another run."""
    if not approvals:
        return
    marks = ", ".join("?" * len(approvals))
    taken = conn.execute(
        f"SELECT tool_call_id, run_id FROM {t.approvals} WHERE tool_call_id IN ({marks})",
        [a.tool_call_id for a in approvals],
    ).fetchall()
    if taken:
        tool_call_id, run_id = taken[0]
        raise ConflictError(
            f"tool call {tool_call_id!r} is stored for run {run_id!r}", tool_call_id=tool_call_id
        )
    conn.executemany(
        f"INSERT INTO {t.approvals} ({_APPROVAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (a.tool_call_id, a.run_id, a.position, a.body, a.decision, a.resolved_ms)
            for a in approvals
        ],
    )


def delete_runs_of_thread(conn: sqlite3.Connection, t: ConversationTables, thread_id: str) -> None:
    """Delete the thread's runs, their approvals and their scores."""
    runs = f"SELECT run_id FROM {t.runs} WHERE thread_id = ?"
    conn.execute(f"DELETE FROM {t.scores} WHERE run_id IN ({runs})", (thread_id,))
    conn.execute(f"DELETE FROM {t.approvals} WHERE run_id IN ({runs})", (thread_id,))
    conn.execute(f"DELETE FROM {t.runs} WHERE thread_id = ?", (thread_id,))
