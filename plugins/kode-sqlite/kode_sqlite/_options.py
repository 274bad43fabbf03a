"""Options of the ``sqlite`` backend: what the server sets and what a wire descriptor may set."""

from __future__ import annotations

import os

import attrs

from kode_core.backend import (
    BackendOptions,
    check,
    is_positive_int,
    is_positive_number,
    server_only,
)

#: Journal modes kode accepts; ``memory`` and ``off`` are refused because a crash
#: in the middle of a write could corrupt the file.
JOURNAL_MODES = ("wal", "delete", "truncate", "persist")


def is_database_path(value: object) -> bool:
    """A file path SQLite can share between connections and processes.

    ``":memory:"`` and ``""`` are refused: both give every connection its own
    private database, so writers would not see each other.
    """
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return isinstance(value, str) and value.strip() not in ("", ":memory:") and "\x00" not in value


@attrs.frozen(kw_only=True)
class SqliteOptions(BackendOptions):
    """Options of the ``sqlite`` backend.

    Server-only: ``path`` (the database file, created on first use),
    ``busy_timeout`` (seconds a writer waits for the file lock),
    ``journal_mode`` and ``max_connections`` (reader connections). Wire-safe:
    ``namespace``, which prefixes the tables (``<namespace>__session_keys``...).
    """

    path: str | os.PathLike[str] = server_only(
        default="kode.db",
        validator=check(is_database_path, "must be a file path (':memory:' is not shared)"),
    )
    busy_timeout: float = server_only(
        default=30.0, validator=check(is_positive_number, "must be a positive number of seconds")
    )
    journal_mode: str = server_only(
        default="wal",
        validator=check(lambda v: v in JOURNAL_MODES, f"must be one of {JOURNAL_MODES}"),
    )
    max_connections: int = server_only(
        default=4, validator=check(is_positive_int, "must be a positive int")
    )
