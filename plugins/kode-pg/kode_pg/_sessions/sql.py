"""The statements of the ``pg`` session store, composed once per namespace."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import attrs
from psycopg import sql

from kode_core.sessions import SessionKey

from .._schema import schema_sql

if TYPE_CHECKING:
    from typing_extensions import LiteralString

# The main transcript is stored under subpath '' (an empty subpath is invalid input).
MAIN = ""


@attrs.frozen
class SessionStatements:
    """The statements of one namespace, composed once (schema names are quoted)."""

    lock_key: sql.Composed
    insert_entries: sql.Composed
    update_key: sql.Composed
    append_at_heads: sql.Composed
    read: sql.Composed
    read_tail: sql.Composed
    count: sql.Composed
    sessions: sql.Composed
    projects: sql.Composed
    summaries: sql.Composed
    delete_session: sql.Composed
    delete_subkey: sql.Composed
    subkeys: sql.Composed


_KEY_ID: LiteralString = (
    "(SELECT id FROM {s}.session_keys WHERE project_key = %s AND session_id = %s AND subpath = %s)"
)


@functools.lru_cache(maxsize=1024)
def session_statements(namespace: str) -> SessionStatements:
    """The composed statements of ``namespace``'s schema."""
    s = schema_sql(namespace)

    def q(text: LiteralString) -> sql.Composed:
        return sql.SQL(text.replace("{key_id}", _KEY_ID)).format(s=s)

    return SessionStatements(
        # Insert or lock the key row: the row lock serialises appenders of this key,
        # across connections and processes, until the transaction ends.
        lock_key=q(
            "INSERT INTO {s}.session_keys (project_key, session_id, subpath, mtime)"
            " VALUES (%s, %s, %s, 0)"
            " ON CONFLICT (project_key, session_id, subpath)"
            " DO UPDATE SET last_position = {s}.session_keys.last_position"
            " RETURNING id, last_position, summary_mtime, summary"
        ),
        # The unique index on (key_id, uuid) is the dedupe: a stored uuid is skipped by
        # the insert itself, so no lookup plan can make an append cost grow with the
        # transcript. Positions come from the locked head, in batch order; a skipped
        # entry leaves its position unused.
        insert_entries=q(
            "INSERT INTO {s}.session_entries (key_id, position, uuid, body)"
            " SELECT k.id, k.last_position + t.n, t.uuid, t.body"
            " FROM {s}.session_keys AS k,"
            " unnest(%b::text[], %b::text[]) WITH ORDINALITY AS t(uuid, body, n)"
            " WHERE k.project_key = %s AND k.session_id = %s AND k.subpath = %s"
            " ON CONFLICT (key_id, uuid) WHERE uuid IS NOT NULL DO NOTHING"
            " RETURNING position"
        ),
        update_key=q(
            "UPDATE {s}.session_keys SET last_position = %s, entry_count = entry_count + %s,"
            " mtime = %s, summary_mtime = %s, summary = %s WHERE id = %s"
        ),
        # The appends of several writers in one statement. A member that knows its
        # key's head (id, last_position) and summary from its last append is stored
        # if that head is unchanged (re-read under the key row's lock, so no other
        # append committed since) and none of its uuids is stored (the snapshot holds
        # every entry of an unchanged head): every entry goes in, and the key row gets
        # the new head, mtime and the summary folded beforehand. A member that knows
        # no head (key_id NULL) is stored if its key row does not exist: the row is
        # created with the head, mtime and summary of the batch (folded from none);
        # if it exists, the row as the snapshot holds it is returned instead. Key rows
        # are locked in id order and created in key order, so that two of these
        # statements do not deadlock on each other in the usual case (a deadlock
        # fails the statement, which stores nothing). Yields, per member stored or
        # whose existing row was read: its index, stored, and the key's id, head and
        # summary.
        append_at_heads=q(
            "WITH m AS MATERIALIZED ("
            " SELECT * FROM unnest(%b::int[], %b::bigint[], %b::bigint[], %b::bigint[],"
            " %b::bigint[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[])"
            " AS m(i, key_id, head, size, mtime, summary_mtime, summary,"
            " project_key, session_id, subpath)"
            "), t AS MATERIALIZED ("
            " SELECT * FROM unnest(%b::int[], %b::bigint[], %b::text[], %b::text[])"
            " AS t(i, n, uuid, body)"
            "), k AS MATERIALIZED ("
            " SELECT id, last_position FROM {s}.session_keys"
            " WHERE id = ANY(%b::bigint[]) ORDER BY id FOR UPDATE"
            "), fresh AS MATERIALIZED ("
            " SELECT m.* FROM m JOIN k ON k.id = m.key_id AND k.last_position = m.head"
            " WHERE NOT EXISTS ("
            " SELECT FROM t JOIN {s}.session_entries AS e"
            " ON e.key_id = m.key_id AND e.uuid = t.uuid WHERE t.i = m.i)"
            "), made AS MATERIALIZED ("
            " INSERT INTO {s}.session_keys AS c (project_key, session_id, subpath,"
            " last_position, entry_count, mtime, summary_mtime, summary)"
            " SELECT project_key, session_id, subpath, size, size, mtime, summary_mtime, summary"
            " FROM m WHERE key_id IS NULL ORDER BY project_key, session_id, subpath"
            " ON CONFLICT (project_key, session_id, subpath) DO NOTHING"
            " RETURNING c.id, c.project_key, c.session_id, c.subpath"
            "), new AS MATERIALIZED ("
            " SELECT m.i, c.id FROM made AS c JOIN m ON m.key_id IS NULL"
            " AND m.project_key = c.project_key AND m.session_id = c.session_id"
            " AND m.subpath = c.subpath"
            "), ins AS ("
            " INSERT INTO {s}.session_entries (key_id, position, uuid, body)"
            " SELECT f.key_id, f.head + t.n, t.uuid, t.body FROM fresh AS f JOIN t ON t.i = f.i"
            " UNION ALL SELECT c.id, t.n, t.uuid, t.body FROM new AS c JOIN t ON t.i = c.i"
            "), upd AS ("
            " UPDATE {s}.session_keys AS u SET last_position = u.last_position + f.size,"
            " entry_count = u.entry_count + f.size, mtime = f.mtime,"
            " summary_mtime = f.summary_mtime, summary = f.summary"
            " FROM fresh AS f WHERE u.id = f.key_id"
            ") SELECT i, true, NULL::bigint, NULL::bigint, NULL::bigint, NULL FROM fresh"
            " UNION ALL SELECT i, true, id, NULL, NULL, NULL FROM new"
            " UNION ALL SELECT m.i, false, o.id, o.last_position, o.summary_mtime, o.summary"
            " FROM m JOIN {s}.session_keys AS o ON m.key_id IS NULL"
            " AND o.project_key = m.project_key AND o.session_id = m.session_id"
            " AND o.subpath = m.subpath"
            " WHERE NOT EXISTS (SELECT FROM new WHERE new.i = m.i)"
        ),
        read=q(
            "SELECT position, body FROM {s}.session_entries"
            " WHERE key_id = {key_id} AND position > %s ORDER BY position LIMIT %s"
        ),
        read_tail=q(
            "SELECT position, body FROM {s}.session_entries"
            " WHERE key_id = {key_id} ORDER BY position DESC LIMIT %s"
        ),
        count=q(
            "SELECT entry_count FROM {s}.session_keys"
            " WHERE project_key = %s AND session_id = %s AND subpath = %s"
        ),
        sessions=q(
            "SELECT session_id, mtime FROM {s}.session_keys"
            " WHERE project_key = %s AND subpath = '' AND session_id > %s"
            " ORDER BY session_id LIMIT %s"
        ),
        projects=q(
            "SELECT DISTINCT project_key FROM {s}.session_keys"
            " WHERE subpath = '' AND project_key > %s ORDER BY project_key LIMIT %s"
        ),
        summaries=q(
            "SELECT session_id, summary_mtime, summary FROM {s}.session_keys"
            " WHERE project_key = %s AND subpath = '' AND summary IS NOT NULL"
            " ORDER BY session_id"
        ),
        delete_session=q("DELETE FROM {s}.session_keys WHERE project_key = %s AND session_id = %s"),
        delete_subkey=q(
            "DELETE FROM {s}.session_keys"
            " WHERE project_key = %s AND session_id = %s AND subpath = %s"
        ),
        subkeys=q(
            "SELECT subpath FROM {s}.session_keys"
            " WHERE project_key = %s AND session_id = %s AND subpath <> ''"
            " ORDER BY subpath"
        ),
    )


def key_params(key: SessionKey) -> tuple[str, str, str]:
    """The ``(project_key, session_id, subpath)`` parameters that find ``key``'s row."""
    return (key.project_key, key.session_id, key.subpath or MAIN)
