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
    Since version 2, one document per appended batch (split when it holds more
    than :data:`ENTRIES_PER_DOCUMENT` entries or :data:`DOCUMENT_TEXT_BYTES` of
    text): ``{_id: batch_id, k: key id, p: position of its LAST entry, j: [JSON
    text, ...], u: [uuid_entry_id, ...]}``. Positions are contiguous per
    transcript, so entry ``i`` of ``j`` sits at ``p - len(j) + 1 + i``. ``u``
    lists the uuid ids of the entries that have one (absent when none does);
    its unique index on ``(k, u)`` stores a uuid at most once per transcript, and
    a plain index on ``u`` finds the stored ones.
    Version 1 wrote one document per entry, ``{_id, k, p, j: JSON text}`` with
    ``_id`` = :func:`uuid_entry_id` or :func:`position_entry_id`; the upgrade to
    2 only adds the ``u`` indexes: such documents are read as batches of one, and
    appends to a transcript begun under version 1 also look its uuids up by
    ``_id``. A transcript's key document carries ``layout: 2`` when it was
    begun under version 2. ``(k, p)`` is unique and is the read order.
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
    2,
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
        },
        2: {
            "session_entries": [
                # Every uuid of a batch document, unique per transcript. Prefixed by
                # k, so a collection sharded on {k: 1} may keep it; partial, as
                # version 1 documents have no u.
                IndexModel(
                    [("k", ASCENDING), ("u", ASCENDING)],
                    name="entry_uuid",
                    unique=True,
                    partialFilterExpression={"u": {"$exists": True}},
                ),
                # The look-up of stored uuids ({u: {$in: [...]}}; a uuid id names its
                # transcript): a plain index, which any planner uses, where a partial
                # one needs the query to imply its filter (SecantusDB scans then).
                IndexModel([("u", ASCENDING)], name="uuid_lookup"),
            ],
        },
    },
)
#: The ``layout`` of a key document begun under version 2: its entries are all in
#: batch documents, so their ``u`` index alone tells which uuids are stored.
BATCH_LAYOUT = 2
#: At most this many entries in one batch document (bounds what a page read
#: fetches beyond its limit).
ENTRIES_PER_DOCUMENT = 100
#: A batch document holds at most this much JSON text (UTF-8), unless it holds one
#: entry: MongoDB documents stop at 16 MiB.
DOCUMENT_TEXT_BYTES = 4 * 1024 * 1024


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
    """``_id`` of a version 1 entry without uuid: always new, as its position is."""
    return f"{kid}:p:{position}"


def batch_id(kid: str, last_position: int) -> str:
    """``_id`` of a batch document: always new, as its last position is."""
    return f"{kid}:b:{last_position}"
