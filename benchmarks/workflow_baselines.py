"""The raw-driver baselines of benchmarks/workflow_store.py: the yardstick, not a rival.

Each does the least correct driver work for the timed operations: a claim is one
conditional update of a step's status (``pending`` -> ``running``), with no attempt
history and no timestamps; a state write is one upsert of one key. memory: dicts;
sqlite and pg: ``UPDATE ... WHERE status = 'pending'`` and ``INSERT ... ON CONFLICT DO
UPDATE``; mongo: ``update_one`` with the status in the filter, and an upsert; redis: a
compare-and-set script on a hash field, and ``HSET``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import anyio.to_thread
import attrs
import psycopg
import redis.asyncio
from baselines import DURABLE, POOL_SIZE, mongo_engine, open_sqlite, pg_engine, redis_engine
from psycopg_pool import AsyncConnectionPool
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.commands.core import AsyncScript

Doc = dict[str, Any]


class RawWorkflows(Protocol):
    """What the workload does to a baseline; ``engine`` names the engine and settings."""

    engine: str

    async def add_steps(self, run: str, names: list[str]) -> None: ...
    async def claim(self, run: str, name: str) -> bool: ...
    async def put_state(self, run: str, key: str, value: str) -> None: ...


@attrs.define
class RawMemoryWorkflows:
    engine: str = "memory (dicts)"
    steps: dict[tuple[str, str], str] = attrs.Factory(dict)
    state: dict[tuple[str, str], str] = attrs.Factory(dict)

    async def add_steps(self, run: str, names: list[str]) -> None:
        self.steps.update({(run, name): "pending" for name in names})

    async def claim(self, run: str, name: str) -> bool:
        await anyio.lowlevel.checkpoint()
        if self.steps[(run, name)] != "pending":
            return False
        self.steps[(run, name)] = "running"
        return True

    async def put_state(self, run: str, key: str, value: str) -> None:
        await anyio.lowlevel.checkpoint()
        self.state[(run, key)] = value


_SQL_SCHEMA = """
CREATE TABLE steps (run_id TEXT, name TEXT, status TEXT, PRIMARY KEY (run_id, name));
CREATE TABLE state (run_id TEXT, key TEXT, value TEXT, PRIMARY KEY (run_id, key));
"""
_CLAIM = "UPDATE {t}steps SET status = 'running' WHERE run_id = {p} AND name = {p}"
_CLAIM += " AND status = 'pending'"
_PUT = "INSERT INTO {t}state (run_id, key, value) VALUES ({p}, {p}, {p})"
_PUT += " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"


@attrs.define
class RawSqliteWorkflows:
    """sqlite3 on a WAL file in a worker thread, one connection, a transaction per write."""

    conn: sqlite3.Connection
    engine: str
    limiter: anyio.CapacityLimiter = attrs.Factory(lambda: anyio.CapacityLimiter(1))

    async def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        def work() -> int:
            with self.conn:
                return self.conn.execute(sql, params).rowcount

        return await anyio.to_thread.run_sync(work, limiter=self.limiter)

    async def add_steps(self, run: str, names: list[str]) -> None:
        def work() -> None:
            with self.conn:
                self.conn.executemany(
                    "INSERT INTO steps VALUES (?, ?, 'pending')", [(run, n) for n in names]
                )

        await anyio.to_thread.run_sync(work, limiter=self.limiter)

    async def claim(self, run: str, name: str) -> bool:
        return await self._write(_CLAIM.format(t="", p="?"), (run, name)) == 1

    async def put_state(self, run: str, key: str, value: str) -> None:
        await self._write(_PUT.format(t="", p="?"), (run, key, value))


@contextlib.asynccontextmanager
async def raw_sqlite(where: str) -> AsyncIterator[RawWorkflows]:
    path = os.path.join(where, "raw-workflows.db")
    conn, engine = await anyio.to_thread.run_sync(open_sqlite, path, _SQL_SCHEMA)
    try:
        yield RawSqliteWorkflows(conn, engine)
    finally:
        await anyio.to_thread.run_sync(conn.close)


Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]


@attrs.define
class RawPgWorkflows:
    """psycopg 3 async with a pool, autocommit: one statement per call."""

    pool: Pool
    engine: str

    async def add_steps(self, run: str, names: list[str]) -> None:
        async with self.pool.connection() as conn, conn.cursor() as cur:
            sql = "INSERT INTO raw_workflows.steps VALUES (%s, %s, 'pending')"
            await cur.executemany(sql, [(run, n) for n in names])

    async def claim(self, run: str, name: str) -> bool:
        async with self.pool.connection() as conn:
            sql = _CLAIM.format(t="raw_workflows.", p="%s")
            return (await conn.execute(sql, (run, name))).rowcount == 1

    async def put_state(self, run: str, key: str, value: str) -> None:
        async with self.pool.connection() as conn:
            sql = _PUT.format(t="raw_workflows.", p="%s")
            await conn.execute(sql, (run, key, value))


@contextlib.asynccontextmanager
async def raw_pg(url: str) -> AsyncIterator[RawWorkflows]:
    pool: Pool = AsyncConnectionPool(
        url, kwargs={"autocommit": True}, min_size=1, max_size=POOL_SIZE, open=False
    )
    async with pool:
        async with pool.connection() as conn:
            await conn.execute("CREATE SCHEMA raw_workflows")
            for statement in _SQL_SCHEMA.split(";"):
                if statement.strip():
                    await conn.execute(
                        statement.replace("CREATE TABLE ", "CREATE TABLE raw_workflows.")
                    )
        yield RawPgWorkflows(pool, await pg_engine(pool))


@attrs.define
class RawMongoWorkflows:
    """pymongo async, write concern majority j=true: one update per call."""

    db: AsyncDatabase[Doc]
    engine: str

    async def add_steps(self, run: str, names: list[str]) -> None:
        await self.db.steps.insert_many([{"_id": [run, n], "status": "pending"} for n in names])

    async def claim(self, run: str, name: str) -> bool:
        found = await self.db.steps.update_one(
            {"_id": [run, name], "status": "pending"}, {"$set": {"status": "running"}}
        )
        return found.modified_count == 1

    async def put_state(self, run: str, key: str, value: str) -> None:
        await self.db.state.update_one({"_id": [run, key]}, {"$set": {"v": value}}, upsert=True)


@contextlib.asynccontextmanager
async def raw_mongo(url: str) -> AsyncIterator[RawWorkflows]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(url)
    try:
        db = client.get_database("raw_workflows", write_concern=DURABLE)
        yield RawMongoWorkflows(db, await mongo_engine(client))
    finally:
        await client.close()


_REDIS_CLAIM = """if redis.call('HGET', KEYS[1], ARGV[1]) == 'pending' then
  redis.call('HSET', KEYS[1], ARGV[1], 'running') return 1 end return 0"""


@attrs.define
class RawRedisWorkflows:
    """redis.asyncio: a hash of step statuses with a compare-and-set script; HSET for state."""

    client: redis.asyncio.Redis
    engine: str
    claim_script: AsyncScript

    async def add_steps(self, run: str, names: list[str]) -> None:
        await self.client.hset(f"raw:steps:{run}", mapping=dict.fromkeys(names, "pending"))

    async def claim(self, run: str, name: str) -> bool:
        return int(await self.claim_script(keys=[f"raw:steps:{run}"], args=[name])) == 1

    async def put_state(self, run: str, key: str, value: str) -> None:
        await self.client.hset(f"raw:state:{run}", key, value)


@contextlib.asynccontextmanager
async def raw_redis(url: str) -> AsyncIterator[RawWorkflows]:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        script = client.register_script(_REDIS_CLAIM)
        yield RawRedisWorkflows(client, await redis_engine(client), script)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def raw_memory(where: str) -> AsyncIterator[RawWorkflows]:
    yield RawMemoryWorkflows()


#: kind -> the baseline's opener, given the engine's URL (sqlite: a directory).
RAW_WORKFLOW_BASELINES: dict[
    str, Callable[[str], contextlib.AbstractAsyncContextManager[RawWorkflows]]
] = {
    "memory": raw_memory,
    "sqlite": raw_sqlite,
    "pg": raw_pg,
    "mongo": raw_mongo,
    "redis": raw_redis,
}
