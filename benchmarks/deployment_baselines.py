"""The raw-driver baselines of benchmarks/deployment_store.py: the yardstick, not a rival.

Each is the simplest correct driver code for the deployment store's timed operations:

- a heartbeat: the instance's heartbeat time set (sqlite, pg: one ``UPDATE``; mongo:
  one ``update_one``; redis: the hash field and every function's sorted-set score in one
  ``MULTI``; memory: a dict entry);
- find_deployment: the instance serving a function with the newest heartbeat within
  the TTL (sqlite, pg: a join ordered by heartbeat, ``LIMIT 1``; mongo: ``find_one``
  sorted on a multikey index; redis: ``ZREVRANGEBYSCORE ... LIMIT 0 1`` then ``HGET``;
  memory: a scan of a dict).

kode does more in each (redis: a liveness key with native expiry; every engine: input
checks). Same servers and durability settings as kode's backends.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import anyio
import anyio.to_thread
import attrs
import redis.asyncio
from baselines import DURABLE, POOL_SIZE, mongo_engine, open_sqlite, pg_engine, redis_engine
from psycopg_pool import AsyncConnectionPool
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


class RawDeployments(Protocol):
    """What the workload does to a baseline; ``engine`` names the engine and settings."""

    engine: str

    async def start(
        self, deployment: str, endpoint: str, functions: list[str], now: int
    ) -> None: ...
    async def heartbeat(self, deployment: str, now: int) -> None: ...
    async def find(self, function: str, since: int) -> str | None: ...


@attrs.define
class RawMemoryDeployments:
    instances: dict[str, tuple[str, list[str], int]] = attrs.Factory(dict)
    engine: str = "in-process dict, scanned"

    async def start(self, deployment: str, endpoint: str, functions: list[str], now: int) -> None:
        self.instances[deployment] = (endpoint, functions, now)

    async def heartbeat(self, deployment: str, now: int) -> None:
        endpoint, functions, _ = self.instances[deployment]
        self.instances[deployment] = (endpoint, functions, now)

    async def find(self, function: str, since: int) -> str | None:
        live = [v for v in self.instances.values() if function in v[1] and v[2] >= since]
        return max(live, key=lambda v: v[2])[0] if live else None


_SQLITE_SCHEMA = """
CREATE TABLE deployments (id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, hb INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE functions (function TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (function, id))
    WITHOUT ROWID;
"""
_FIND = """SELECT d.endpoint FROM {f} f JOIN {d} d ON d.id = f.id
WHERE f.function = {p} AND d.hb >= {p} ORDER BY d.hb DESC LIMIT 1"""


@attrs.define
class RawSqliteDeployments:
    conn: sqlite3.Connection
    engine: str
    limiter: anyio.CapacityLimiter = attrs.Factory(lambda: anyio.CapacityLimiter(1))

    async def _run(self, work: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(work, limiter=self.limiter)

    def _start(self, deployment: str, endpoint: str, functions: list[str], now: int) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO deployments VALUES (?, ?, ?)", (deployment, endpoint, now)
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO functions VALUES (?, ?)",
                [(f, deployment) for f in functions],
            )

    async def start(self, deployment: str, endpoint: str, functions: list[str], now: int) -> None:
        await self._run(lambda: self._start(deployment, endpoint, functions, now))

    def _beat(self, deployment: str, now: int) -> None:
        with self.conn:
            self.conn.execute("UPDATE deployments SET hb = ? WHERE id = ?", (now, deployment))

    async def heartbeat(self, deployment: str, now: int) -> None:
        await self._run(lambda: self._beat(deployment, now))

    async def find(self, function: str, since: int) -> str | None:
        sql = _FIND.format(f="functions", d="deployments", p="?")
        row = await self._run(lambda: self.conn.execute(sql, (function, since)).fetchone())
        return None if row is None else str(row[0])


@contextlib.asynccontextmanager
async def raw_sqlite(where: str) -> AsyncIterator[RawDeployments]:
    path = os.path.join(where, "raw-deployments.db")
    conn, engine = await anyio.to_thread.run_sync(open_sqlite, path, _SQLITE_SCHEMA)
    try:
        yield RawSqliteDeployments(conn, engine)
    finally:
        await anyio.to_thread.run_sync(conn.close)


_PG_SCHEMA = (
    "CREATE SCHEMA raw_deployments",
    """CREATE TABLE raw_deployments.deployments (id text COLLATE "C" PRIMARY KEY,
        endpoint text NOT NULL, hb bigint NOT NULL)""",
    """CREATE TABLE raw_deployments.functions (function text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL, PRIMARY KEY (function, id))""",
)


@attrs.define
class RawPgDeployments:
    pool: AsyncConnectionPool[Any]
    engine: str = ""

    async def start(self, deployment: str, endpoint: str, functions: list[str], now: int) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO raw_deployments.deployments VALUES (%s, %s, %s)",
                (deployment, endpoint, now),
            )
            await conn.cursor().executemany(
                "INSERT INTO raw_deployments.functions VALUES (%s, %s)",
                [(f, deployment) for f in functions],
            )

    async def heartbeat(self, deployment: str, now: int) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE raw_deployments.deployments SET hb = %s WHERE id = %s", (now, deployment)
            )

    async def find(self, function: str, since: int) -> str | None:
        sql = _FIND.format(f="raw_deployments.functions", d="raw_deployments.deployments", p="%s")
        async with self.pool.connection() as conn:
            row = await (await conn.execute(sql, (function, since))).fetchone()
        return None if row is None else str(row[0])


@contextlib.asynccontextmanager
async def raw_pg(url: str) -> AsyncIterator[RawDeployments]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, kwargs={"autocommit": True}, min_size=1, max_size=POOL_SIZE, open=False
    )
    async with pool:
        for statement in _PG_SCHEMA:
            async with pool.connection() as conn:
                await conn.execute(statement)
        yield RawPgDeployments(pool, await pg_engine(pool))


@attrs.define
class RawMongoDeployments:
    db: AsyncDatabase[Doc]
    engine: str

    async def start(self, deployment: str, endpoint: str, functions: list[str], now: int) -> None:
        doc = {"e": endpoint, "f": functions, "h": now}
        await self.db.deployments.replace_one({"_id": deployment}, doc, upsert=True)

    async def heartbeat(self, deployment: str, now: int) -> None:
        await self.db.deployments.update_one({"_id": deployment}, {"$set": {"h": now}})

    async def find(self, function: str, since: int) -> str | None:
        found = await self.db.deployments.find_one(
            {"f": function, "h": {"$gte": since}}, {"e": 1}, sort=[("h", DESCENDING)]
        )
        return None if found is None else str(found["e"])


@contextlib.asynccontextmanager
async def raw_mongo(url: str) -> AsyncIterator[RawDeployments]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(url)
    try:
        db = client.get_database("raw_deployments", write_concern=DURABLE)
        await db.deployments.create_indexes([IndexModel([("f", ASCENDING), ("h", DESCENDING)])])
        yield RawMongoDeployments(db, await mongo_engine(client))
    finally:
        await client.close()


@attrs.define
class RawRedisDeployments:
    client: redis.asyncio.Redis
    engine: str
    functions: dict[str, list[str]] = attrs.Factory(dict)  # the baseline remembers them

    async def start(self, deployment: str, endpoint: str, functions: list[str], now: int) -> None:
        self.functions[deployment] = functions
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(f"raw:dep:{deployment}", mapping={"endpoint": endpoint, "hb": now})
            for function in functions:
                pipe.zadd(f"raw:fn:{function}", {deployment: now})
            await pipe.execute()

    async def heartbeat(self, deployment: str, now: int) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(f"raw:dep:{deployment}", "hb", now)
            for function in self.functions[deployment]:
                pipe.zadd(f"raw:fn:{function}", {deployment: now}, xx=True)
            await pipe.execute()

    async def find(self, function: str, since: int) -> str | None:
        found = await self.client.zrevrangebyscore(f"raw:fn:{function}", "+inf", since, 0, 1)
        if not found:
            return None
        member = str(found[0])  # the client decodes responses
        endpoint = await self.client.hget(f"raw:dep:{member}", "endpoint")
        return None if endpoint is None else str(endpoint)


@contextlib.asynccontextmanager
async def raw_redis(url: str) -> AsyncIterator[RawDeployments]:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        yield RawRedisDeployments(client, await redis_engine(client))
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def raw_memory(where: str) -> AsyncIterator[RawDeployments]:
    yield RawMemoryDeployments()


#: kind -> the baseline's opener, given the engine's URL (sqlite: a directory).
RAW_DEPLOYMENT_BASELINES: dict[
    str, Callable[[str], contextlib.AbstractAsyncContextManager[RawDeployments]]
] = {
    "memory": raw_memory,
    "sqlite": raw_sqlite,
    "pg": raw_pg,
    "mongo": raw_mongo,
    "redis": raw_redis,
}
