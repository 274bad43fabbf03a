"""The raw-driver baselines of benchmarks/session_store.py: the yardstick, not a rival.
Each baseline is the simplest correct driver code doing the same logical work as
a session store (append a batch to a session, all or nothing where the engine makes
that cheap; load a session in order; list the sessions), written the way the
issue prescribes and no more:

- memory: a plain ``dict`` of lists;
- sqlite: ``sqlite3`` ``executemany`` in one transaction per append;
- pg: ``psycopg`` ``executemany`` (pipelined) in one transaction per append;
- mongo: ``pymongo`` ``insert_many`` per append;
- redis: one pipelined ``MULTI``/``RPUSH``/``SADD``/``EXEC`` per append;

and every load is one ordered read. None of them deduplicates by uuid, keeps
positions, mtimes or summaries, which kode does: that is part of what the ratio
measures, and the retry row shows the difference (a baseline stores a retried
batch again). The agent-store baselines (``agent_baselines.py``) share the sqlite
opener, the write concern and the engine descriptions defined here.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version
from typing import Any, Protocol

import anyio
import anyio.to_thread
import attrs
import psycopg
import redis.asyncio
from psycopg_pool import AsyncConnectionPool
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.write_concern import WriteConcern

Entry = dict[str, Any]
#: Compact JSON, the text kode stores too.
encode = functools.partial(json.dumps, separators=(",", ":"))
#: As many connections as kode's pooled backends may open by default.
POOL_SIZE = 10


class RawSubject(Protocol):
    """What the benchmark does to a baseline; ``engine`` names the engine and settings."""

    engine: str

    async def append(self, session: str, batch: list[Entry]) -> None: ...
    async def load(self, session: str) -> list[Entry]: ...
    async def list_sessions(self) -> list[str]: ...
    async def count(self, session: str) -> int: ...


@attrs.define
class RawMemory:
    """A dict of lists: what an in-process store is without kode."""

    sessions: dict[str, list[Entry]] = attrs.Factory(dict)
    engine: str = "in-process dict of lists"

    async def append(self, session: str, batch: list[Entry]) -> None:
        self.sessions.setdefault(session, []).extend(batch)

    async def load(self, session: str) -> list[Entry]:
        return list(self.sessions.get(session, []))

    async def list_sessions(self) -> list[str]:
        return sorted(self.sessions)

    async def count(self, session: str) -> int:
        return len(self.sessions.get(session, []))


@contextlib.asynccontextmanager
async def raw_memory(where: str, pool_size: int | None = None) -> AsyncIterator[RawSubject]:
    yield RawMemory()


_SQLITE_SCHEMA = """
CREATE TABLE entries (id INTEGER PRIMARY KEY, session TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX entries_by_session ON entries (session, id);
"""


@attrs.define
class RawSqlite:
    """sqlite3 on a WAL file, in a worker thread (as kode-sqlite), one call at a time."""

    conn: sqlite3.Connection
    engine: str
    # One connection, so one thread uses it at a time (kode-sqlite has one writer too).
    limiter: anyio.CapacityLimiter = attrs.Factory(lambda: anyio.CapacityLimiter(1))

    async def _run(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return await anyio.to_thread.run_sync(
            lambda: self.conn.execute(sql, params).fetchall(), limiter=self.limiter
        )

    def _insert(self, rows: list[tuple[str, str]]) -> None:
        with self.conn:  # one transaction per batch, committed on exit
            self.conn.executemany("INSERT INTO entries (session, body) VALUES (?, ?)", rows)

    async def append(self, session: str, batch: list[Entry]) -> None:
        rows = [(session, encode(entry)) for entry in batch]
        await anyio.to_thread.run_sync(self._insert, rows, limiter=self.limiter)

    async def load(self, session: str) -> list[Entry]:
        sql = "SELECT body FROM entries WHERE session = ? ORDER BY id"
        return [json.loads(body) for (body,) in await self._run(sql, session)]

    async def list_sessions(self) -> list[str]:
        rows = await self._run("SELECT DISTINCT session FROM entries ORDER BY session")
        return [session for (session,) in rows]

    async def count(self, session: str) -> int:
        [(count,)] = await self._run("SELECT count(*) FROM entries WHERE session = ?", session)
        return int(count)


def open_sqlite(path: str, schema: str) -> tuple[sqlite3.Connection, str]:
    """A WAL connection (kode-sqlite's default journal_mode) with ``schema``, and its
    engine description."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = wal")
    conn.executescript(schema)
    [(synchronous,)] = conn.execute("PRAGMA synchronous").fetchall()
    return conn, f"SQLite {sqlite3.sqlite_version}, WAL, synchronous={synchronous}"


def _open_sqlite(path: str) -> RawSqlite:
    return RawSqlite(*open_sqlite(path, _SQLITE_SCHEMA))


@contextlib.asynccontextmanager
async def raw_sqlite(where: str, pool_size: int | None = None) -> AsyncIterator[RawSubject]:
    # One connection whatever the pool size: kode-sqlite writes through one connection too.
    raw = await anyio.to_thread.run_sync(_open_sqlite, os.path.join(where, "raw.db"))
    try:
        yield raw
    finally:
        await anyio.to_thread.run_sync(raw.conn.close)


_PG_SCHEMA = (
    "CREATE SCHEMA raw_bench",
    """CREATE TABLE raw_bench.entries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session text COLLATE "C" NOT NULL, body text NOT NULL)""",
    "CREATE INDEX entries_by_session ON raw_bench.entries (session, id)",
)
_PG_INSERT = "INSERT INTO raw_bench.entries (session, body) VALUES (%s, %s)"


@attrs.define
class RawPg:
    """psycopg async on a pool (no liveness check): executemany in a pipelined transaction."""

    pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]
    engine: str = ""

    async def _query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall()

    async def append(self, session: str, batch: list[Entry]) -> None:
        rows = [(session, encode(entry)) for entry in batch]
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.cursor().executemany(_PG_INSERT, rows)

    async def load(self, session: str) -> list[Entry]:
        sql = "SELECT body FROM raw_bench.entries WHERE session = %s ORDER BY id"
        return [json.loads(body) for (body,) in await self._query(sql, session)]

    async def list_sessions(self) -> list[str]:
        rows = await self._query("SELECT DISTINCT session FROM raw_bench.entries ORDER BY session")
        return [session for (session,) in rows]

    async def count(self, session: str) -> int:
        sql = "SELECT count(*) FROM raw_bench.entries WHERE session = %s"
        [(count,)] = await self._query(sql, session)
        return int(count)


@contextlib.asynccontextmanager
async def raw_pg(url: str, pool_size: int | None = None) -> AsyncIterator[RawSubject]:
    pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
        url, kwargs={"autocommit": True}, min_size=1, max_size=pool_size or POOL_SIZE, open=False
    )
    async with pool:
        raw = RawPg(pool)
        for statement in _PG_SCHEMA:
            async with pool.connection() as conn:
                await conn.execute(statement)
        raw.engine = await pg_engine(pool)
        yield raw


async def pg_engine(pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]) -> str:
    """The server's version and commit durability."""
    async with pool.connection() as conn:
        server = (await (await conn.execute("SHOW server_version")).fetchall())[0][0]
        sync = (await (await conn.execute("SHOW synchronous_commit")).fetchall())[0][0]
    return f"PostgreSQL {server}, synchronous_commit={sync} (server-wide)"


@attrs.define
class RawMongo:
    """pymongo async: insert_many per batch (ordered; not a transaction)."""

    entries: AsyncCollection[dict[str, Any]]
    engine: str = ""

    async def append(self, session: str, batch: list[Entry]) -> None:
        await self.entries.insert_many([{"s": session, "j": encode(entry)} for entry in batch])

    async def load(self, session: str) -> list[Entry]:
        # Client-made ObjectIds increase in insertion order: they are the read order.
        found = self.entries.find({"s": session}, {"_id": 0, "j": 1}).sort("_id", ASCENDING)
        return [json.loads(doc["j"]) async for doc in found]

    async def list_sessions(self) -> list[str]:
        return sorted(await self.entries.distinct("s"))

    async def count(self, session: str) -> int:
        return await self.entries.count_documents({"s": session})


@contextlib.asynccontextmanager
async def raw_mongo(url: str, pool_size: int | None = None) -> AsyncIterator[RawSubject]:
    client: AsyncMongoClient[dict[str, Any]] = (
        AsyncMongoClient(url) if pool_size is None else AsyncMongoClient(url, maxPoolSize=pool_size)
    )
    try:
        entries = client["raw_bench"].get_collection("entries", write_concern=DURABLE)
        await entries.create_indexes([IndexModel([("s", ASCENDING), ("_id", ASCENDING)])])
        yield RawMongo(entries, await mongo_engine(client))
    finally:
        await client.close()


#: The write concern of kode-mongo's transactions, so both wait for the journal.
DURABLE = WriteConcern("majority", j=True)


async def mongo_engine(client: AsyncMongoClient[dict[str, Any]]) -> str:
    """The server (SecantusDB here) and the baselines' write concern."""
    info = await client.server_info()
    engine = f"secantusdb {version('secantusdb')} (reports MongoDB {info['version']})"
    return f"{engine}, writes w=majority j=true"


@attrs.define
class RawRedis:
    """redis.asyncio: RPUSH the batch and SADD the session, pipelined in MULTI/EXEC."""

    client: redis.asyncio.Redis
    engine: str
    sessions: str = "raw:sessions"

    @staticmethod
    def _log(session: str) -> str:
        return f"raw:log:{session}"

    async def append(self, session: str, batch: list[Entry]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(self._log(session), *[encode(entry) for entry in batch])
            pipe.sadd(self.sessions, session)
            await pipe.execute()

    async def load(self, session: str) -> list[Entry]:
        return [json.loads(text) for text in await self.client.lrange(self._log(session), 0, -1)]

    async def list_sessions(self) -> list[str]:
        members: set[str] = await self.client.smembers(self.sessions)  # type: ignore[assignment]
        return sorted(members)

    async def count(self, session: str) -> int:
        return int(await self.client.llen(self._log(session)))


def redis_client(url: str, pool_size: int | None = None) -> redis.asyncio.Redis:
    """A client returning ``str``; with ``pool_size``, on a blocking pool of that many
    connections (as kode-redis's), else on redis-py's default pool."""
    if pool_size is None:
        return redis.asyncio.Redis.from_url(url, decode_responses=True)
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=pool_size, decode_responses=True
    )
    return redis.asyncio.Redis.from_pool(pool)


@contextlib.asynccontextmanager
async def raw_redis(url: str, pool_size: int | None = None) -> AsyncIterator[RawSubject]:
    client = redis_client(url, pool_size)
    try:
        yield RawRedis(client, await redis_engine(client))
    finally:
        await client.aclose()


async def redis_engine(client: redis.asyncio.Redis) -> str:
    """The server's version and append-only-file durability."""
    info = await client.info("persistence")
    server = (await client.info("server"))["redis_version"]
    fsync = (await client.config_get("appendfsync"))["appendfsync"]
    aof = "on" if info["aof_enabled"] else "off"
    return f"Redis {server}, appendonly={aof} appendfsync={fsync}"


#: Opens a baseline on the engine at a URL (sqlite: a directory), with a pool of the
#: given size where it has one (None: the size the session benchmark uses).
RawOpener = Callable[[str, int | None], contextlib.AbstractAsyncContextManager[RawSubject]]

#: kind -> the baseline's opener.
RAW_BASELINES: dict[str, RawOpener] = {
    "memory": raw_memory,
    "sqlite": raw_sqlite,
    "pg": raw_pg,
    "mongo": raw_mongo,
    "redis": raw_redis,
}
