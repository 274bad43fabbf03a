"""Storage layout of the ``mongo`` session store: its collections, indexes and ids.

Beside the namespace's ``<namespace>.kode_meta`` (``{_id: "sessions"}`` records
this layout's version, see :mod:`kode_mongo._schema`):

``<namespace>.session_keys``
    One document per transcript, ``_id`` = :func:`key_id` of (project, session,
    subpath; ``""`` is the main transcript), with the sequence head
    ``last_position``, ``entry_count``, ``mtime`` and, for main transcripts, the
    folded ``summary`` text and its ``summary_mtime``. Every append that stores
    something writes this document inside its transaction, so two appends to
    one transcript conflict in the engine and one of them retries.
``<namespace>.session_entries``
    One document per entry: ``{_id, k: key id, p: position, j: JSON text}``.
    The ``_id`` is :func:`uuid_entry_id` for entries with a uuid, so the
    mandatory unique ``_id`` index enforces idempotency, and
    :func:`position_entry_id` otherwise. ``(k, p)`` is unique and is the read order.
"""

from __future__ import annotations

import hashlib
import json

import attrs
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from kode_core.sessions import SessionKey

from .._schema import Collection, Document, MongoSchema

#: The session collections.
SESSIONS = MongoSchema(
    "sessions",
    1,
    {
        1: {
            "session_keys": [
                # One document per transcript; serves subkeys and cascading deletes.
                IndexModel(
                    [("project_key", ASCENDING), ("session_id", ASCENDING), ("subpath", ASCENDING)],
                    name="project_session_subpath",
                    unique=True,
                ),
                # Listings: equality on project and subpath ("" = main), then the
                # session ids in order, so a page is one bounded index walk.
                IndexModel(
                    [("project_key", ASCENDING), ("subpath", ASCENDING), ("session_id", ASCENDING)],
                    name="project_subpath_session",
                ),
            ],
            "session_entries": [
                IndexModel([("k", ASCENDING), ("p", ASCENDING)], name="key_position", unique=True)
            ],
        }
    },
)


@attrs.frozen
class Collections:
    """The session collections of one namespace."""

    keys: Collection
    entries: Collection

    @classmethod
    def of(cls, database: AsyncDatabase[Document], namespace: str) -> Collections:
        return cls(
            database[f"{namespace}.session_keys"],
            database[f"{namespace}.session_entries"],
        )


def key_id(key: SessionKey) -> str:
    """The stored id of a transcript: 32 hex digits of a hash of its three parts.

    Fixed length and free of ``:``, so entry ids built from it cannot collide
    across transcripts, and readers find entries without looking the key up.
    """
    parts = json.dumps([key.project_key, key.session_id, key.subpath or ""])
    return hashlib.blake2b(parts.encode("ascii"), digest_size=16).hexdigest()


def uuid_entry_id(kid: str, uuid: str) -> str:
    """``_id`` of an entry with a uuid: one per (transcript, uuid), enforced by ``_id``."""
    return f"{kid}:u:{uuid}"


def position_entry_id(kid: str, position: int) -> str:
    """``_id`` of an entry without uuid: always new, as its position is."""
    return f"{kid}:p:{position}"
