"""Leases in MongoDB (the agent lock, the workflow run lock): one document per key.

A lease document holds its ``owner``, a ``grant`` fresh per acquisition, an
``expires`` time in the server's clock and a fencing ``token`` that grows by one per
grant and is never reset. Each call is one atomic update of that document.
"""

from __future__ import annotations

import uuid
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ._schema import Collection, Document

_NOW: Document = {"$toLong": "$$NOW"}


def acquire_pipeline(owner: str, grant: str, lease_ms: int) -> list[Document]:
    """An update pipeline taking the lease if it is free or lapsed, else changing nothing.

    ``grant`` (fresh per attempt) tells the caller whether this call took it; the
    counter ``token`` grows by one per grant and is never reset.
    """
    free = {"$or": [{"$eq": [{"$ifNull": ["$owner", None]}, None]}, {"$lte": ["$expires", _NOW]}]}

    def pick(taken: Any, kept: str) -> Document:
        return {"$cond": ["$_free", taken, kept]}

    return [
        {"$set": {"_free": free}},
        {
            "$set": {
                "owner": pick(owner, "$owner"),
                "grant": pick(grant, "$grant"),
                "expires": pick({"$add": [_NOW, lease_ms]}, "$expires"),
                "token": pick({"$add": [{"$ifNull": ["$token", 0]}, 1]}, "$token"),
            }
        },
        {"$unset": "_free"},
    ]


def renew_pipeline(lease_ms: int) -> list[Document]:
    """An update pipeline moving the lease's expiry ``lease_ms`` past the server's now."""
    return [{"$set": {"expires": {"$add": [_NOW, lease_ms]}}}]


async def try_acquire(locks: Collection, key: str, owner: str, lease_ms: int) -> int | None:
    """Take the lease of ``key`` if it is free or lapsed: its fencing token, else None."""
    grant = uuid.uuid4().hex
    try:
        doc = await locks.find_one_and_update(
            {"_id": key},
            acquire_pipeline(owner, grant, lease_ms),
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        return None  # another acquirer's upsert created the lease first
    if doc is None or doc.get("grant") != grant:
        return None
    return int(doc["token"])


async def renew(locks: Collection, key: str, owner: str, lease_ms: int) -> bool:
    """Extend ``owner``'s lease of ``key``; False if it is no longer ``owner``'s."""
    result = await locks.update_one({"_id": key, "owner": owner}, renew_pipeline(lease_ms))
    return result.matched_count == 1


async def release(locks: Collection, key: str, owner: str) -> None:
    """Drop ``owner``'s lease of ``key`` (the token stays, so tokens never repeat)."""
    await locks.update_one(
        {"_id": key, "owner": owner}, {"$unset": {"owner": "", "grant": "", "expires": ""}}
    )
