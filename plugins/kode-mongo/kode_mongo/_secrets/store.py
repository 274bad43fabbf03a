"""Secrets in MongoDB: one opaque document per secret, each write in a transaction with
its audit entry."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from kode_core.secrets import (
    AuditAction,
    AuditDraft,
    AuditEntry,
    SecretOptions,
    SecretRow,
    SecretStore,
)

from .._backend import MongoBackend
from .._options import MongoOptions
from .._schema import Document
from .schema import SECRETS, SecretCollections, parse_row, row_document

_T = TypeVar("_T")


class MongoSecretStore(SecretStore):
    """Secrets in one database's ``<namespace>.secret*`` collections.

    A write, a delete or a rotation's re-wrap is one transaction with its audit
    entry. The re-wrap updates the document only if its key version and wrapped key
    are those read (compare-and-set); of two rotating instances, one commits and
    the other, retried after the write conflict, matches nothing.
    """

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: SecretOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend.schema_in(options.database), SECRETS)
        self._database = options.database

    def __repr__(self) -> str:
        return (
            f"<MongoSecretStore {self._backend.address} database={self._database!r} "
            f"namespace={self.namespace!r}>"
        )

    @asynccontextmanager
    async def collections(self) -> AsyncIterator[SecretCollections]:
        """The namespace's secret collections, once their indexes are in place."""
        async with self._backend.database(self._database, self.namespace, SECRETS) as db:
            yield SecretCollections.of(db, self.namespace)

    async def _audit_in(
        self, cols: SecretCollections, draft: AuditDraft | None, session: AsyncClientSession
    ) -> None:
        if draft is None:
            return
        counter = await cols.counters.find_one_and_update(
            {"_id": "audit"},
            {"$inc": {"n": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert counter is not None  # upserted, and returned after the update
        document: Document = {
            "_id": counter["n"],
            "k": draft.secret_key,
            "a": draft.action.value,
            "t": draft.performed_at,
        }
        if draft.actor is not None:
            document["actor"] = draft.actor
        await cols.audit.insert_one(document, session=session)

    async def _salt(self, version: int, candidate: bytes | None) -> bytes | None:
        async with self.collections() as cols:
            if candidate is not None:
                # Another writer may have recorded this version's salt first: use theirs.
                with contextlib.suppress(DuplicateKeyError):
                    await cols.salts.insert_one({"_id": version, "s": candidate})
            found = await cols.salts.find_one({"_id": version})
        return bytes(found["s"]) if found else None

    async def _rows(self, names: Sequence[str]) -> dict[str, SecretRow]:
        async with self.collections() as cols:
            found = [parse_row(d) async for d in cols.rows.find({"_id": {"$in": list(names)}})]
        return {row.name: row for row in found}

    async def _exists(self, name: str) -> bool:
        async with self.collections() as cols:
            return await cols.rows.find_one({"_id": name}, {"_id": 1}) is not None

    async def _put(self, row: SecretRow, audit: AuditDraft | None) -> None:
        document = row_document(row)
        created = document.pop("ca")
        del document["_id"]

        async def work(cols: SecretCollections, session: AsyncClientSession) -> None:
            await cols.rows.update_one(
                {"_id": row.name},
                {"$set": document, "$setOnInsert": {"ca": created}},
                upsert=True,
                session=session,
            )
            await self._audit_in(cols, audit, session)

        await self._in_transaction(work)

    async def _remove(self, name: str, audit: AuditDraft | None) -> bool:
        async def work(cols: SecretCollections, session: AsyncClientSession) -> bool:
            deleted = await cols.rows.delete_one({"_id": name}, session=session)
            if deleted.deleted_count == 0:
                await session.abort_transaction()
                return False
            await self._audit_in(cols, audit, session)
            return True

        return await self._in_transaction(work)

    async def _count_stale(self, version: int) -> int:
        async with self.collections() as cols:
            return await cols.rows.count_documents({"v": {"$lt": version}})

    async def _stale(self, version: int, after: str | None, limit: int) -> list[SecretRow]:
        # Names are never empty, so "" is "from the start".
        query = {"v": {"$lt": version}, "_id": {"$gt": after or ""}}
        async with self.collections() as cols:
            cursor = cols.rows.find(query).sort("_id", ASCENDING).limit(limit)
            return [parse_row(document) async for document in cursor]

    async def _rewrap(self, old: SecretRow, new: SecretRow, audit: AuditDraft | None) -> bool:
        expected = {"_id": old.name, "v": old.key_version, "w": old.wrapped_key}
        change = {"$set": {"w": new.wrapped_key, "v": new.key_version, "ua": new.updated_at}}

        async def work(cols: SecretCollections, session: AsyncClientSession) -> bool:
            updated = await cols.rows.update_one(expected, change, session=session)
            if updated.matched_count == 0:
                await session.abort_transaction()
                return False
            await self._audit_in(cols, audit, session)
            return True

        return await self._in_transaction(work)

    async def _append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        async def work(cols: SecretCollections, session: AsyncClientSession) -> None:
            for draft in drafts:
                await self._audit_in(cols, draft, session)

        await self._in_transaction(work)

    async def _audit_entries(self, name: str | None, limit: int) -> list[AuditEntry]:
        query = {} if name is None else {"k": name}
        async with self.collections() as cols:
            cursor = cols.audit.find(query).sort("_id", DESCENDING).limit(limit)
            return [
                AuditEntry(d["_id"], d["k"], AuditAction(d["a"]), d["t"], d.get("actor"))
                async for d in cursor
            ]

    async def _in_transaction(
        self, work: Callable[[SecretCollections, AsyncClientSession], Awaitable[_T]]
    ) -> _T:
        async with self.collections() as cols:
            return await self._backend.transaction(functools.partial(work, cols))
