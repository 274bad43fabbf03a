"""Storage layout of the ``mongo`` secret store: its collections and indexes.

Beside the namespace's ``<namespace>.kode_meta`` (``{_id: "secrets"}`` records this
layout's version, see :mod:`kode_mongo._schema`):

``<namespace>.secrets``
    One opaque document per secret: ``{_id: name, c: ciphertext, w: wrapped data key,
    v: key version, f: format version, ca: created_at, ua: updated_at}``; bytes are
    BSON binary. Never a plaintext, never a key-encryption key.
``<namespace>.secret_salts``
    ``{_id: key version, s: salt}``; the first writer's salt wins (unique ``_id``).
``<namespace>.secret_audit``
    ``{_id: id, k: secret, a: action, t: performed_at, actor?}``; ids come from the
    counter ``{_id: "audit", n}`` in ``<namespace>.secret_counters``, taken in the same
    transaction as the write it records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from kode_core.secrets import SecretRow

from .._schema import Collection, Document, MongoSchema

#: The secret collections.
SECRETS = MongoSchema(
    "secrets",
    1,
    {
        1: {
            # Rotation pages through the rows of older versions in name order.
            "secrets": [IndexModel([("v", ASCENDING), ("_id", ASCENDING)], name="version_name")],
            "secret_audit": [
                IndexModel([("k", ASCENDING), ("_id", DESCENDING)], name="secret_newest")
            ],
        }
    },
)


@attrs.frozen
class SecretCollections:
    """The secret collections of one namespace."""

    rows: Collection
    salts: Collection
    audit: Collection
    counters: Collection

    @classmethod
    def of(cls, database: AsyncDatabase[Document], namespace: str) -> SecretCollections:
        return cls(
            database[f"{namespace}.secrets"],
            database[f"{namespace}.secret_salts"],
            database[f"{namespace}.secret_audit"],
            database[f"{namespace}.secret_counters"],
        )


def row_document(row: SecretRow) -> Document:
    """The stored document of ``row``."""
    return {
        "_id": row.name,
        "c": row.ciphertext,
        "w": row.wrapped_key,
        "v": row.key_version,
        "f": row.format_version,
        "ca": row.created_at,
        "ua": row.updated_at,
    }


def parse_row(document: Mapping[str, Any]) -> SecretRow:
    """The :class:`SecretRow` stored as ``document``."""
    return SecretRow(
        document["_id"],
        bytes(document["c"]),
        bytes(document["w"]),
        int(document["v"]),
        int(document["f"]),
        int(document["ca"]),
        int(document["ua"]),
    )
