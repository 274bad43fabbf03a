"""Options of the ``mongo`` backend: what the server sets and what a wire descriptor may set."""

from __future__ import annotations

import attrs

from kode_core import InvalidOptionError
from kode_core.backend import (
    BackendOptions,
    check,
    is_positive_int,
    is_url,
    server_only,
    wire_safe,
)

#: MongoDB refuses documents over 16 MiB; an entry's (or a record's) JSON text plus
#: its few bookkeeping fields must fit in one document.
MAX_ENTRY_BYTES_LIMIT = 16 * 1024 * 1024 - 16 * 1024

_FORBIDDEN_IN_DATABASE_NAME = frozenset('/\\. "$\x00')
# MongoDB's own databases: a tenant's transcripts must never land there.
_RESERVED_DATABASE_NAMES = frozenset({"admin", "config", "local"})


def is_database_name(value: object) -> bool:
    """A database name kode may write to: 1-63 characters, none of ``/\\. "$`` or NUL,
    and not one of MongoDB's own databases (``admin``, ``config``, ``local``)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 63
        and not _FORBIDDEN_IN_DATABASE_NAME.intersection(value)
        and value.lower() not in _RESERVED_DATABASE_NAMES
    )


@attrs.frozen(kw_only=True)
class MongoOptions(BackendOptions):
    """Options of the ``mongo`` backend.

    Server-only: ``url`` (a ``mongodb://`` or ``mongodb+srv://`` URL with a host;
    it may carry credentials and is never shown in reprs) and ``max_pool_size``.
    Wire-safe: ``database`` and ``namespace``; a namespace is the collection
    prefix ``<namespace>.`` inside ``database``.
    """

    url: str = server_only(
        default="mongodb://127.0.0.1:27017",
        validator=check(
            is_url("mongodb", "mongodb+srv"),
            "must be a mongodb:// or mongodb+srv:// URL with a host",
        ),
        secret=True,
    )
    max_pool_size: int = server_only(
        default=100, validator=check(is_positive_int, "must be a positive int")
    )
    database: str = wire_safe(
        default="kode",
        validator=check(
            is_database_name,
            'must be a MongoDB database name: 1-63 characters without /\\. "$ or NUL, '
            "not admin, config or local",
        ),
    )


def check_entry_limit(max_entry_bytes: int) -> None:
    """Refuse a family's ``max_entry_bytes`` setting that MongoDB could not store.

    A family's settings are not this kind's options, so a store checks them when
    it is built (before any I/O).
    """
    if max_entry_bytes > MAX_ENTRY_BYTES_LIMIT:
        raise InvalidOptionError(
            "mongo",
            "max_entry_bytes",
            f"must be at most {MAX_ENTRY_BYTES_LIMIT} (MongoDB's 16 MiB document limit), "
            f"got {max_entry_bytes!r}",
        )
