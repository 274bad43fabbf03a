"""The SQL statements of the sqlite session store, built once per namespace."""

from __future__ import annotations

import attrs

from .schema import SessionTables

# The id of one key row; every per-key statement finds it through the unique index.
_KEY_ID = "(SELECT id FROM {keys} WHERE project_key = ? AND session_id = ? AND subpath = ?)"


@attrs.frozen
class SessionStatements:
    """The SQL of one namespace, built once per store."""

    find_key: str
    insert_key: str
    insert_entry: str
    update_key: str
    read: str
    read_tail: str
    count: str
    sessions: str
    projects: str
    summaries: str
    delete_entries: str
    delete_keys: str
    delete_session_entries: str
    delete_session_keys: str
    subkeys: str

    @classmethod
    def for_tables(cls, t: SessionTables) -> SessionStatements:
        key_id = _KEY_ID.format(keys=t.keys)
        session_ids = f"SELECT id FROM {t.keys} WHERE project_key = ? AND session_id = ?"
        return cls(
            find_key=f"""SELECT id, last_position, summary_mtime, summary FROM {t.keys}
                WHERE project_key = ? AND session_id = ? AND subpath = ?""",
            insert_key=f"""INSERT INTO {t.keys} (project_key, session_id, subpath, mtime)
                VALUES (?, ?, ?, 0)""",
            # The unique (key_id, uuid) index is the dedupe: a stored uuid is skipped.
            insert_entry=f"""INSERT INTO {t.entries} (key_id, position, uuid, body)
                VALUES (?, ?, ?, ?) ON CONFLICT (key_id, uuid) DO NOTHING""",
            update_key=f"""UPDATE {t.keys} SET last_position = :last, mtime = :mtime,
                summary = coalesce(:summary, summary),
                summary_mtime = CASE WHEN :summary IS NULL THEN summary_mtime ELSE :mtime END
                WHERE id = :id""",
            read=f"""SELECT position, body FROM {t.entries}
                WHERE key_id = {key_id} AND position > ? ORDER BY position LIMIT ?""",
            read_tail=f"""SELECT position, body FROM {t.entries}
                WHERE key_id = {key_id} ORDER BY position DESC LIMIT ?""",
            count=f"SELECT count(*) FROM {t.entries} WHERE key_id = {key_id}",
            sessions=f"""SELECT session_id, mtime FROM {t.keys}
                WHERE project_key = ? AND subpath = '' AND session_id > ?
                ORDER BY session_id LIMIT ?""",
            projects=f"""SELECT DISTINCT project_key FROM {t.keys}
                WHERE subpath = '' AND project_key > ? ORDER BY project_key LIMIT ?""",
            summaries=f"""SELECT session_id, summary_mtime, summary FROM {t.keys}
                WHERE project_key = ? AND subpath = '' AND summary IS NOT NULL
                ORDER BY session_id""",
            delete_entries=f"DELETE FROM {t.entries} WHERE key_id = {key_id}",
            delete_keys=f"""DELETE FROM {t.keys}
                WHERE project_key = ? AND session_id = ? AND subpath = ?""",
            delete_session_entries=f"DELETE FROM {t.entries} WHERE key_id IN ({session_ids})",
            delete_session_keys=f"DELETE FROM {t.keys} WHERE project_key = ? AND session_id = ?",
            subkeys=f"""SELECT subpath FROM {t.keys}
                WHERE project_key = ? AND session_id = ? AND subpath <> ''
                ORDER BY subpath""",
        )
