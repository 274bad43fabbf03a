"""The ``mongo`` backend: one lazily created ``AsyncMongoClient`` per server configuration."""

from __future__ import annotations

import contextlib
import functools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import attrs
import bson.errors
import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConfigurationError as DriverConfigurationError
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from kode_core import (
    BackendError,
    BackendUnavailableError,
    ConfigurationError,
    ConflictError,
    InvalidDataError,
    KodeError,
)
from kode_core.backend import (
    Backend,
    ErrorMap,
    OncePerKey,
    SchemaHost,
    map_exceptions,
    redact,
    url_secrets,
)

from ._options import MongoOptions
from ._schema import Document, MongoSchema, ensure_schema, meta_collection, stored_version

_T = TypeVar("_T")

#: How long one append or delete keeps retrying after write conflicts with
#: concurrent writers (pymongo's ``with_transaction`` uses 120 s).
CONFLICT_RETRY_SECONDS = 60.0
#: A uuid insert that hits an existing ``_id`` despite the key document's lock
#: (a writer that bypasses kode) is retried this often, then reported.
_DUPLICATE_RETRIES = 3
_DEFAULT_PORT = 27017


class MongoBackend(Backend):
    """A MongoDB deployment reached through one ``pymongo.AsyncMongoClient``.

    Nothing connects until the first store call. Every namespace and database
    is served by the same client (and its connection pool). Appends and
    deletes run as multi-document transactions, so the deployment must be a
    replica set or a sharded cluster (a single-node replica set will do).
    """

    kind = "mongo"

    def __init__(self, options: MongoOptions) -> None:
        self._options = options
        self._address = mongo_address(options.url)
        self._client: AsyncMongoClient[Document] | None = None
        self._closed = False
        self._schemas_ready: OncePerKey[tuple[str, str, str]] = OncePerKey()
        self._errors: ErrorMap = {
            ConnectionFailure: self._unavailable,
            # Raised while encoding (e.g. a key with a lone surrogate, which is not
            # UTF-8), before the statement is sent; inside a transaction it aborts
            # the whole batch.
            bson.errors.BSONError: self._unstorable,
            UnicodeEncodeError: self._unstorable,
            # An int beyond BSON's 64 bits (an event seq), also raised while encoding.
            OverflowError: self._unstorable,
            DriverConfigurationError: self._misconfigured,
            PyMongoError: self._driver_error,
        }

    def __repr__(self) -> str:
        state = "open" if self._client is not None else "closed" if self._closed else "unused"
        return f"<MongoBackend {self._address} client={state}>"

    @property
    def address(self) -> str:
        """``host:port`` of the deployment (comma-separated seeds), without credentials."""
        return self._address

    @property
    def driver_version(self) -> str:
        return f"pymongo {pymongo.version}"

    async def aclose(self) -> None:
        """Close the client (if it was ever created). Idempotent."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            with anyio.CancelScope(shield=True):
                await client.close()

    @asynccontextmanager
    async def database(
        self, database: str, namespace: str, component: MongoSchema
    ) -> AsyncIterator[AsyncDatabase[Document]]:
        """``database`` once ``component``'s collections in the namespace are ready.

        Checks (and, with ``auto_migrate``, applies) the component's schema version once
        per client. Driver errors raised while it is in use are translated into kode errors.
        """
        with map_exceptions(self._errors):
            yield await self._ready_database(database, namespace, component)

    async def migrate(self, database: str, namespace: str, component: MongoSchema) -> None:
        """Create or upgrade the namespace's ``component`` indexes now, even with
        ``auto_migrate`` off."""
        with map_exceptions(self._errors):
            await self._ready_database(database, namespace, component, auto_migrate=True)

    async def recorded_version(self, database: str, namespace: str, component: MongoSchema) -> int:
        """The version of ``component`` recorded for the namespace (0: none). Creates nothing."""
        with map_exceptions(self._errors):
            meta = meta_collection(self._ready_client()[database], namespace)
            return await stored_version(meta, component)

    def schema_in(self, database: str) -> SchemaHost[MongoSchema]:
        """:meth:`migrate` and :meth:`recorded_version` bound to ``database``, for
        :meth:`~kode_core.backend.Store._use_schema`."""
        return _DatabaseSchema(self, database)

    async def ping(self) -> None:
        """One round trip to the deployment (the ``ping`` command)."""
        with map_exceptions(self._errors):
            await self._ready_client().admin.command("ping")

    async def transaction(self, callback: Callable[[AsyncClientSession], Awaitable[_T]]) -> _T:
        """Run ``callback`` in a transaction, again after write conflicts, then commit.

        Like ``with_transaction``, but a lost connection is raised at once instead
        of being retried for two minutes: kode reports an unreachable engine within
        ``connect_timeout``. ``callback`` may end the transaction itself (abort
        when it has nothing to write). Exhausted conflict retries raise
        :class:`~kode_core.ConflictError`; nothing of the callback is stored then.
        """
        deadline = time.monotonic() + CONFLICT_RETRY_SECONDS
        duplicates = 0
        attempt = 0
        backoff = False
        async with self._ready_client().start_session() as session:
            while True:
                # Backoff after a conflict; a duplicate key is no contention (the
                # callback may change course, e.g. look stored keys up), so no wait.
                if backoff:
                    await anyio.sleep(random.random() * min(0.005 * 1.5**attempt, 0.25))
                attempt += 1
                await session.start_transaction(
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern("majority", j=True),
                )
                try:
                    result = await callback(session)
                    if session.in_transaction:
                        await session.commit_transaction()
                except PyMongoError as exc:
                    await self._abort(session, exc)
                    duplicates += isinstance(exc, DuplicateKeyError)
                    backoff = not isinstance(exc, DuplicateKeyError)
                    if not _retryable(exc) or duplicates > _DUPLICATE_RETRIES:
                        raise
                    if time.monotonic() > deadline:
                        raise ConflictError(
                            f"mongo: still conflicting with concurrent writers after "
                            f"{CONFLICT_RETRY_SECONDS:.0f} s; nothing was stored"
                        ) from exc
                    continue
                except BaseException:
                    await self._abort(session, None)
                    raise
                return result

    # -- the lazily created client -------------------------------------------------

    async def _ready_database(
        self,
        database: str,
        namespace: str,
        component: MongoSchema,
        *,
        auto_migrate: bool | None = None,
    ) -> AsyncDatabase[Document]:
        db = self._ready_client()[database]
        await self._schemas_ready.run(
            (component.name, database, namespace),
            functools.partial(
                ensure_schema,
                db,
                namespace,
                component,
                auto_migrate=self._options.auto_migrate if auto_migrate is None else auto_migrate,
                where=f"{database}.{namespace}.kode_meta ({component.name}) at {self._address}",
            ),
        )
        return db

    def _ready_client(self) -> AsyncMongoClient[Document]:
        # Creating the client does no I/O and does not await, so no lock is needed:
        # the first caller on the event loop creates it, later callers reuse it.
        if self._client is None:
            if self._closed:
                raise BackendError("mongo", "this backend is closed")
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> AsyncMongoClient[Document]:
        options = self._options
        timeout_ms = max(1, round(options.connect_timeout * 1000))
        extra: dict[str, Any] = {}
        if "appname=" not in options.url.lower():
            extra["appname"] = "kode-mongo"
        return AsyncMongoClient(
            options.url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            maxPoolSize=options.max_pool_size,
            **extra,
        )

    async def _abort(self, session: AsyncClientSession, exc: BaseException | None) -> None:
        if not session.in_transaction:
            return
        # A server nobody can select would make the abort wait out another server
        # selection; the server drops the transaction on its own then. Otherwise
        # abort promptly, so the key document's write lock is released at once.
        # (Calling it even then marks the session's transaction aborted, so ending
        # the session does not try again without a time limit.)
        budget = 0.001 if isinstance(exc, ServerSelectionTimeoutError) else 0.5
        with (
            anyio.CancelScope(shield=True),
            contextlib.suppress(PyMongoError),
            pymongo.timeout(min(budget, self._options.connect_timeout)),
        ):
            await session.abort_transaction()

    # -- error translation ----------------------------------------------------------

    def _detail(self, exc: BaseException) -> str:
        text = str(exc).strip()
        # Server selection errors append the whole topology description.
        text = text.split(", Timeout: ", 1)[0].split("\n", 1)[0] or type(exc).__name__
        return redact(text, url_secrets(self._options.url))

    def _unavailable(self, exc: BaseException) -> KodeError:
        return BackendUnavailableError("mongo", self._address, self._detail(exc))

    def _unstorable(self, exc: BaseException) -> KodeError:
        return InvalidDataError(f"mongo cannot store this value, nothing was written: {exc}")

    def _misconfigured(self, exc: BaseException) -> KodeError:
        return ConfigurationError(f"mongo: {self._detail(exc)}")

    def _driver_error(self, exc: BaseException) -> KodeError:
        return BackendError("mongo", self._detail(exc))


def _retryable(exc: PyMongoError) -> bool:
    """A write conflict (or an aborted transaction) worth running again.

    Connection failures carry the same ``TransientTransactionError`` label inside
    a transaction; they are not retried here, the engine is reported unavailable.
    """
    if isinstance(exc, ConnectionFailure):
        return False
    return isinstance(exc, DuplicateKeyError) or exc.has_error_label("TransientTransactionError")


def mongo_address(url: str) -> str:
    """``host:port`` of each seed host of a MongoDB URL, comma-separated, without credentials."""
    scheme, _, rest = url.partition("://")
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    seeds = []
    for host in hosts.split(","):
        has_port = ":" in host[host.rfind("]") + 1 :]
        # SRV records name their own ports; a plain host without one uses the default.
        seeds.append(host if has_port or scheme == "mongodb+srv" else f"{host}:{_DEFAULT_PORT}")
    return ",".join(seeds)


@attrs.frozen
class _DatabaseSchema:
    """The schema host of one database of a :class:`MongoBackend`."""

    backend: MongoBackend
    database: str

    async def migrate(self, namespace: str, component: MongoSchema, /) -> None:
        await self.backend.migrate(self.database, namespace, component)

    async def recorded_version(self, namespace: str, component: MongoSchema, /) -> int:
        return await self.backend.recorded_version(self.database, namespace, component)
