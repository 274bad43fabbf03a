"""The raw-driver baselines of benchmarks/thread_store.py: the yardstick, not a rival.

Each is the simplest correct driver code for the same logical work:

- save_messages: the batch's rows inserted with the next sequence numbers in one
  transaction (kode also skips stored ids and moves the thread's update time);
- get_messages(last_n=50): one ordered read of the last 50 rows, each decoded;
- resolve_approval: one conditional write of the approval (``UPDATE ... WHERE decision
  IS NULL``; mongo ``update_one`` on ``d: null``; redis ``HDEL`` of the pending field).

Same servers and durability settings as kode's backends.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import anyio
import anyio.to_thread
import attrs
import psycopg
import redis.asyncio
from baselines import DURABLE, POOL_SIZE, encode, mongo_engine, open_sqlite, pg_engine, redis_engine
from psycopg_pool import AsyncConnectionPool
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


class RawThreads(Protocol):
    engine: str

    async def append(self, thread: str, first: int, messages: list[Doc]) -> None: ...
    async def last(self, thread: str, n: int) -> list[Doc]: ...
    async def add_approvals(self, ids: list[str]) -> None: ...
    async def claim(self, tool_call_id: str) -> bool: ...


@attrs.define
class RawMemoryThreads:
    engine: str = "in-process dict"
    messages: dict[str, list[str]] = attrs.Factory(dict)
    pending: set[str] = attrs.Factory(set)

    async def append(self, thread: str, first: int, messages: list[Doc]) -> None:
        self.messages.setdefault(thread, []).extend(encode(m) for m in messages)

    async def last(self, thread: str, n: int) -> list[Doc]:
        return [json.loads(text) for text in self.messages.get(thread, [])[-n:]]

    async def add_approvals(self, ids: list[str]) -> None:
        self.pending.update(ids)

    async def claim(self, tool_call_id: str) -> bool:
        if tool_call_id not in self.pending:
            return False
        self.pending.discard(tool_call_id)
        return True


_SQLITE_SCHEMA = """
CREATE TABLE messages (thread_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (thread_id, seq)) WITHOUT ROWID;
CREATE TABLE approvals (tool_call_id TEXT PRIMARY KEY, decision TEXT);
"""


@attrs.define
class RawSqliteThreads:
    """sqlite3 on a WAL file in a worker thread, a transaction per write."""

    conn: sqlite3.Connection
    engine: str
    limiter: anyio.CapacityLimiter = attrs.Factory(lambda: anyio.CapacityLimiter(1))

    async def _run(self, work: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(work, limiter=self.limiter)

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        with self.conn:
            return self.conn.executemany(sql, rows).rowcount

    async def append(self, thread: str, first: int, messages: list[Doc]) -> None:
        rows = [(thread, first + i, encode(m)) for i, m in enumerate(messages)]
        sql = "INSERT INTO messages (thread_id, seq, body) VALUES (?, ?, ?)"
        await self._run(functools.partial(self._write, sql, rows))

    async def last(self, thread: str, n: int) -> list[Doc]:
        sql = "SELECT body FROM messages WHERE thread_id = ? ORDER BY seq DESC LIMIT ?"
        rows = await self._run(lambda: self.conn.execute(sql, (thread, n)).fetchall())
        return [json.loads(body) for (body,) in reversed(rows)]

    async def add_approvals(self, ids: list[str]) -> None:
        sql = "INSERT INTO approvals (tool_call_id) VALUES (?)"
        await self._run(functools.partial(self._write, sql, [(i,) for i in ids]))

    async def claim(self, tool_call_id: str) -> bool:
        sql = (
            "UPDATE approvals SET decision = 'approved' WHERE tool_call_id = ? AND decision IS NULL"
        )
        return bool(await self._run(functools.partial(self._write, sql, [(tool_call_id,)])))


@contextlib.asynccontextmanager
async def raw_sqlite(where: str) -> AsyncIterator[RawThreads]:
    path = os.path.join(where, "raw-threads.db")
    conn, engine = await anyio.to_thread.run_sync(open_sqlite, path, _SQLITE_SCHEMA)
    try:
        yield RawSqliteThreads(conn, engine)
    finally:
        await anyio.to_thread.run_sync(conn.close)


_PG_SCHEMA = (
    "CREATE SCHEMA raw_threads",
    """CREATE TABLE raw_threads.messages (thread_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL, body text NOT NULL, PRIMARY KEY (thread_id, seq))""",
    """CREATE TABLE raw_threads.approvals (tool_call_id text COLLATE "C" PRIMARY KEY,
        decision text)""",
)
Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]


@attrs.define
class RawPgThreads:
    """psycopg async on a pool of 10: executemany in a pipelined transaction per write."""

    pool: Pool
    engine: str = ""

    async def append(self, thread: str, first: int, messages: list[Doc]) -> None:
        sql = "INSERT INTO raw_threads.messages (thread_id, seq, body) VALUES (%s, %s, %s)"
        rows = [(thread, first + i, encode(m)) for i, m in enumerate(messages)]
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.cursor().executemany(sql, rows)

    async def last(self, thread: str, n: int) -> list[Doc]:
        sql = (
            "SELECT body FROM raw_threads.messages WHERE thread_id = %s ORDER BY seq DESC LIMIT %s"
        )
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(sql, (thread, n))).fetchall()
        return [json.loads(body) for (body,) in reversed(rows)]

    async def add_approvals(self, ids: list[str]) -> None:
        sql = "INSERT INTO raw_threads.approvals (tool_call_id) VALUES (%s)"
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.cursor().executemany(sql, [(i,) for i in ids])

    async def claim(self, tool_call_id: str) -> bool:
        sql = """UPDATE raw_threads.approvals SET decision = 'approved'
                 WHERE tool_call_id = %s AND decision IS NULL RETURNING 1"""
        async with self.pool.connection() as conn:
            return bool(await (await conn.execute(sql, (tool_call_id,))).fetchall())


@contextlib.asynccontextmanager
async def raw_pg(url: str) -> AsyncIterator[RawThreads]:
    pool: Pool = AsyncConnectionPool(
        url, kwargs={"autocommit": True}, min_size=1, max_size=POOL_SIZE, open=False
    )
    async with pool:
        for statement in _PG_SCHEMA:
            async with pool.connection() as conn:
                await conn.execute(statement)
        yield RawPgThreads(pool, await pg_engine(pool))


@attrs.define
class RawMongoThreads:
    """pymongo async, write concern majority j=true."""

    db: AsyncDatabase[Doc]
    engine: str

    async def append(self, thread: str, first: int, messages: list[Doc]) -> None:
        docs = [{"t": thread, "q": first + i, "j": encode(m)} for i, m in enumerate(messages)]
        await self.db.messages.insert_many(docs)

    async def last(self, thread: str, n: int) -> list[Doc]:
        found = self.db.messages.find({"t": thread}, {"_id": 0, "j": 1})
        docs = [doc async for doc in found.sort("q", DESCENDING).limit(n)]
        return [json.loads(doc["j"]) for doc in reversed(docs)]

    async def add_approvals(self, ids: list[str]) -> None:
        await self.db.approvals.insert_many([{"_id": i, "d": None} for i in ids])

    async def claim(self, tool_call_id: str) -> bool:
        done = await self.db.approvals.update_one(
            {"_id": tool_call_id, "d": None}, {"$set": {"d": "approved"}}
        )
        return done.modified_count == 1


@contextlib.asynccontextmanager
async def raw_mongo(url: str) -> AsyncIterator[RawThreads]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(url)
    try:
        db = client.get_database("raw_threads", write_concern=DURABLE)
        keys = [("t", ASCENDING), ("q", ASCENDING)]
        await db.messages.create_indexes([IndexModel(keys, unique=True)])
        yield RawMongoThreads(db, await mongo_engine(client))
    finally:
        await client.close()


@attrs.define
class RawRedisThreads:
    """redis.asyncio: RPUSH per write, LRANGE of the tail, HDEL of a pending field."""

    client: redis.asyncio.Redis
    engine: str

    async def append(self, thread: str, first: int, messages: list[Doc]) -> None:
        await self.client.rpush(f"raw:thread:{thread}", *[encode(m) for m in messages])

    async def last(self, thread: str, n: int) -> list[Doc]:
        return [json.loads(t) for t in await self.client.lrange(f"raw:thread:{thread}", -n, -1)]

    async def add_approvals(self, ids: list[str]) -> None:
        await self.client.hset("raw:pending", mapping=dict.fromkeys(ids, "1"))

    async def claim(self, tool_call_id: str) -> bool:
        return bool(await self.client.hdel("raw:pending", tool_call_id))


@contextlib.asynccontextmanager
async def raw_redis(url: str) -> AsyncIterator[RawThreads]:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        yield RawRedisThreads(client, await redis_engine(client))
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def raw_memory(where: str) -> AsyncIterator[RawThreads]:
    yield RawMemoryThreads()


#: kind -> the baseline's opener, given the engine's URL (sqlite: a directory).
RAW_THREAD_BASELINES: dict[
    str, Callable[[str], contextlib.AbstractAsyncContextManager[RawThreads]]
] = {
    "memory": raw_memory,
    "sqlite": raw_sqlite,
    "pg": raw_pg,
    "mongo": raw_mongo,
    "redis": raw_redis,
}
