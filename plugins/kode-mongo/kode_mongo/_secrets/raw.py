"""The conformance kit's raw-row hook for MongoDB: documents read and written as they are.

For tests only (:class:`kode_core.testing.RawSecretRows`): it bypasses the store's
encryption entirely; its dump is the raw BSON of every document in the namespace's
collections, the bytes as MongoDB returns them.
"""

from __future__ import annotations

from typing import cast

from kode_core.secrets import SecretRow, SecretStore

from .schema import parse_row, row_document
from .store import MongoSecretStore


class MongoRawSecretRows:
    """Reads, overwrites and dumps a mongo secret store's documents."""

    async def read(self, store: SecretStore, name: str) -> SecretRow | None:
        async with _mongo(store).collections() as cols:
            document = await cols.rows.find_one({"_id": name})
        return parse_row(document) if document else None

    async def write(self, store: SecretStore, row: SecretRow) -> None:
        async with _mongo(store).collections() as cols:
            await cols.rows.replace_one({"_id": row.name}, row_document(row), upsert=True)

    async def dump(self, store: SecretStore) -> bytes:
        out = bytearray()
        async with _mongo(store).collections() as cols:
            database = cols.rows.database
            for name in await database.list_collection_names():
                if name.startswith(f"{store.namespace}."):
                    async for batch in database[name].find_raw_batches():
                        out += cast("bytes", batch)  # raw BSON, typed as documents
        return bytes(out)


def _mongo(store: SecretStore) -> MongoSecretStore:
    assert isinstance(store, MongoSecretStore), f"not a mongo secret store: {store!r}"
    return store
