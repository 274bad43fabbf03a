"""Storage layout of the ``mongo`` backend and its versioned, idempotent migration.

Each namespace is a set of collections named ``<namespace>.<name>`` in the
configured database:

``<namespace>.kode_meta``
    ``{_id: component, version}``: the schema version each service family applied
    (:data:`SESSIONS` here, ``AGENTS`` in ``_agent_schema``).
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
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kode_core import SchemaVersionError, SessionKey

Document = dict[str, Any]
Collection = AsyncCollection[Document]


@attrs.frozen
class SchemaComponent:
    """One service family's collections: its ``kode_meta`` document and its migrations.

    ``migrations[v]`` takes a namespace from version ``v - 1`` to ``v``:
    ``{collection suffix: indexes}``. Creating an index that already exists with
    the same specification is a no-op, so concurrent migrators need no lock.
    """

    name: str
    version: int
    migrations: Mapping[int, Mapping[str, Sequence[IndexModel]]]


#: The session collections.
SESSIONS = SchemaComponent(
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


def meta_collection(database: AsyncDatabase[Document], namespace: str) -> Collection:
    """The namespace's ``kode_meta``: one version document per component."""
    return database[f"{namespace}.kode_meta"]


@attrs.frozen
class Collections:
    """The collections of one namespace."""

    meta: Collection
    keys: Collection
    entries: Collection

    @classmethod
    def of(cls, database: AsyncDatabase[Document], namespace: str) -> Collections:
        return cls(
            meta_collection(database, namespace),
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


async def ensure_schema(
    database: AsyncDatabase[Document],
    namespace: str,
    component: SchemaComponent,
    *,
    auto_migrate: bool,
    where: str,
) -> None:
    """Check ``component``'s version in the namespace; create or migrate it if allowed.

    The fast path is one read. Migration creates the indexes (a no-op when they
    exist) and then raises the recorded version with ``$max``, so concurrent
    first users in any process agree, a version is recorded only once its
    indexes exist, and a newer version written meanwhile is never lowered.
    Raises :class:`~kode_core.SchemaVersionError` when the stored version is
    newer than ``component.version``, or older and ``auto_migrate`` is off (then
    nothing is created).
    """
    supported = component.version
    meta = meta_collection(database, namespace)
    found = await stored_version(meta, component)
    if found == supported:
        return
    if found > supported or not auto_migrate:
        raise SchemaVersionError("mongo", found, supported, where)
    for version in range(found + 1, supported + 1):
        for suffix, indexes in component.migrations[version].items():
            await database[f"{namespace}.{suffix}"].create_indexes(indexes)
    recorded = await _record_version(meta, component)
    if recorded > supported:
        raise SchemaVersionError("mongo", recorded, supported, where)


async def stored_version(meta: Collection, component: SchemaComponent) -> int:
    """The recorded version of ``component``, 0 when nothing is recorded."""
    doc = await meta.find_one({"_id": component.name}, {"version": 1})
    return int(doc["version"]) if doc else 0


async def _record_version(meta: Collection, component: SchemaComponent) -> int:
    update = {"$max": {"version": component.version}}
    try:
        doc = await meta.find_one_and_update(
            {"_id": component.name}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:
        # Two first upserts raced on the _id; the loser's document now exists.
        doc = await meta.find_one_and_update(
            {"_id": component.name}, update, return_document=ReturnDocument.AFTER
        )
    return int(doc["version"]) if doc else 0
