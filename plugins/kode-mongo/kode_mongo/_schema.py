"""Schema versions of the ``mongo`` backend, whatever the service family.

Each namespace is a set of collections named ``<namespace>.<name>`` in the
configured database. ``<namespace>.kode_meta`` holds ``{_id: component, version}``:
the schema version each service family applied (``sessions``, ``agents``...), so
each family migrates on its own. A family's :data:`MongoSchema` lists, per version,
the indexes to create in each of its collections; the collections themselves are
created by their first write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kode_core.backend import SchemaComponent, schema_action

Document = dict[str, Any]
Collection = AsyncCollection[Document]
#: One migration step: ``{collection suffix: indexes}``. Creating an index that
#: already exists with the same specification is a no-op, so concurrent migrators
#: need no lock.
IndexMigration = Mapping[str, Sequence[IndexModel]]
#: A service family's collections: its ``kode_meta`` document and its migrations.
MongoSchema = SchemaComponent[IndexMigration]


def meta_collection(database: AsyncDatabase[Document], namespace: str) -> Collection:
    """The namespace's ``kode_meta``: one version document per component."""
    return database[f"{namespace}.kode_meta"]


async def ensure_schema(
    database: AsyncDatabase[Document],
    namespace: str,
    component: MongoSchema,
    *,
    auto_migrate: bool,
    where: str,
) -> None:
    """Check ``component``'s version in the namespace; create or migrate it if allowed.

    The fast path is one read. Migration creates the indexes (a no-op when they
    exist) and then raises the recorded version with ``$max``, so concurrent
    first users in any process agree, a version is recorded only once its
    indexes exist, and a newer version written meanwhile is never lowered.
    Raises :class:`~kode_core.SchemaVersionError` (see
    :func:`~kode_core.backend.schema_action`); nothing is created then.
    """
    meta = meta_collection(database, namespace)
    found = await stored_version(meta, component)
    action = schema_action("mongo", found, component, auto_migrate=auto_migrate, where=where)
    if action == "current":
        return
    for version in range(found + 1, component.version + 1):
        for suffix, indexes in component.migrations[version].items():
            await database[f"{namespace}.{suffix}"].create_indexes(indexes)
    recorded = await _record_version(meta, component)
    # A newer version recorded meanwhile by newer code is refused, as if found first.
    # (0 means a racing first upsert's document was not visible yet: it records ours.)
    newest = max(recorded, component.version)
    schema_action("mongo", newest, component, auto_migrate=False, where=where)


async def stored_version(meta: Collection, component: MongoSchema) -> int:
    """The recorded version of ``component``, 0 when nothing is recorded. Creates nothing."""
    doc = await meta.find_one({"_id": component.name}, {"version": 1})
    return int(doc["version"]) if doc else 0


async def _record_version(meta: Collection, component: MongoSchema) -> int:
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
