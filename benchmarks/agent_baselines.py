"""The raw-driver baselines of benchmarks/agent_store.py: the yardstick, not a rival.

Each is the simplest correct driver code doing the same logical work as the agent
store's timed operations, and no more:

- one more message: one row (document, list element) appended in one transaction
  (kode instead receives the whole list, diffs it against the stored digests and
  writes only the new row; see benchmarks/README.md);
- read_events: one ordered read of the agent's events, each decoded from JSON;
- the lock: a lease taken and compare-deleted. memory: a dict of leases; sqlite and
  pg: an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`` lease-row upsert, then
  ``DELETE ... WHERE owner``; mongo: a ``find_one_and_update`` upsert, then
  ``delete_one``; redis: ``SET NX PX``, then a compare-and-delete script. No fencing
  counter, no renewal task (kode has both).

Same servers and durability settings as kode's backends (the openers and engine
descriptions are shared with the session-store baselines in ``baselines.py``).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import anyio.to_thread
import attrs
import psycopg
import redis.asyncio
from baselines import (
    DURABLE,
    POOL_SIZE,
    encode,
    mongo_engine,
    open_sqlite,
    pg_engine,
    redis_engine,
)
from psycopg_pool import AsyncConnectionPool
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from redis.commands.core import AsyncScript

LEASE_MS = 30_000  # kode's default lease

Doc = dict[str, Any]
Event = tuple[int, str, Doc]  # seq, channel, the timeline entry as JSON


class RawAgents(Protocol):
    """What the workload does to a baseline; ``engine`` names the engine and settings."""

    engine: str

    async def append_messages(self, agent: str, first: int, messages: list[Doc]) -> None: ...
    async def count_messages(self, agent: str) -> int: ...
    async def append_events(self, agent: str, events: list[Event]) -> None: ...
    async def read_events(self, agent: str) -> list[Doc]: ...
    async def lock_round_trip(self, agent: str) -> None: ...


def _grant_refused(agent: str) -> RuntimeError:
    return RuntimeError(f"the baseline's lease on {agent!r} is held: the benchmark never contends")


# -- the baselines --------------------------------------------------------------------


@attrs.define
class RawMemoryAgents:
    """Dicts of lists of JSON text, and a dict of leases."""

    messages: dict[str, list[str]] = attrs.Factory(dict)
    events: dict[str, list[str]] = attrs.Factory(dict)
    leases: dict[str, tuple[str, float]] = attrs.Factory(dict)
    engine: str = "in-process dicts of lists"

    async def append_messages(self, agent: str, first: int, messages: list[Doc]) -> None:
        self.messages.setdefault(agent, []).extend(encode(m) for m in messages)

    async def count_messages(self, agent: str) -> int:
        return len(self.messages.get(agent, []))

    async def append_events(self, agent: str, events: list[Event]) -> None:
        self.events.setdefault(agent, []).extend(encode(entry) for _, _, entry in events)

    async def read_events(self, agent: str) -> list[Doc]:
        return [json.loads(text) for text in self.events.get(agent, [])]

    async def lock_round_trip(self, agent: str) -> None:
        owner, now = uuid.uuid4().hex, time.monotonic()
        held = self.leases.get(agent)
        if held is not None and held[1] > now:
            raise _grant_refused(agent)
        self.leases[agent] = (owner, now + LEASE_MS / 1000)
        await anyio.lowlevel.checkpoint()  # the holder's work would run here
        if self.leases.get(agent, ("", 0.0))[0] == owner:
            del self.leases[agent]


_SQLITE_SCHEMA = """
CREATE TABLE messages (agent_id TEXT NOT NULL, position INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (agent_id, position)) WITHOUT ROWID;
CREATE TABLE events (agent_id TEXT NOT NULL, seq INTEGER NOT NULL, channel TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (agent_id, seq)) WITHOUT ROWID;
CREATE TABLE leases (agent_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_ms INTEGER NOT NULL);
"""
_SQLITE_TAKE = """INSERT INTO leases (agent_id, owner, expires_ms) VALUES (?, ?, ?)
ON CONFLICT (agent_id) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms
WHERE leases.expires_ms <= ? RETURNING owner"""


@attrs.define
class RawSqliteAgents:
    """sqlite3 on a WAL file in a worker thread, one connection, a transaction per write."""

    conn: sqlite3.Connection
    engine: str
    limiter: anyio.CapacityLimiter = attrs.Factory(lambda: anyio.CapacityLimiter(1))

    async def _in_thread(self, work: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(work, limiter=self.limiter)

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self.conn:  # one transaction, committed on exit
            self.conn.executemany(sql, rows)

    async def append_messages(self, agent: str, first: int, messages: list[Doc]) -> None:
        rows = [(agent, first + i, encode(m)) for i, m in enumerate(messages)]
        sql = "INSERT INTO messages (agent_id, position, body) VALUES (?, ?, ?)"
        await self._in_thread(functools.partial(self._write, sql, rows))

    async def count_messages(self, agent: str) -> int:
        sql = "SELECT count(*) FROM messages WHERE agent_id = ?"
        return int(await self._in_thread(lambda: self.conn.execute(sql, (agent,)).fetchone()[0]))

    async def append_events(self, agent: str, events: list[Event]) -> None:
        rows = [(agent, seq, channel, encode(entry)) for seq, channel, entry in events]
        sql = "INSERT INTO events (agent_id, seq, channel, body) VALUES (?, ?, ?, ?)"
        await self._in_thread(functools.partial(self._write, sql, rows))

    async def read_events(self, agent: str) -> list[Doc]:
        sql = "SELECT body FROM events WHERE agent_id = ? ORDER BY seq"
        rows = await self._in_thread(lambda: self.conn.execute(sql, (agent,)).fetchall())
        return [json.loads(body) for (body,) in rows]

    def _take(self, agent: str, owner: str) -> bool:
        now = int(time.time() * 1000)
        with self.conn:
            return bool(
                self.conn.execute(_SQLITE_TAKE, (agent, owner, now + LEASE_MS, now)).fetchall()
            )

    async def lock_round_trip(self, agent: str) -> None:
        owner = uuid.uuid4().hex
        if not await self._in_thread(functools.partial(self._take, agent, owner)):
            raise _grant_refused(agent)
        sql = "DELETE FROM leases WHERE agent_id = ? AND owner = ?"
        await self._in_thread(functools.partial(self._write, sql, [(agent, owner)]))


@contextlib.asynccontextmanager
async def raw_sqlite(where: str) -> AsyncIterator[RawAgents]:
    path = os.path.join(where, "raw-agents.db")
    conn, engine = await anyio.to_thread.run_sync(open_sqlite, path, _SQLITE_SCHEMA)
    try:
        yield RawSqliteAgents(conn, engine)
    finally:
        await anyio.to_thread.run_sync(conn.close)


_PG_SCHEMA = (
    "CREATE SCHEMA raw_agents",
    """CREATE TABLE raw_agents.messages (agent_id text COLLATE "C" NOT NULL,
        position integer NOT NULL, body text NOT NULL, PRIMARY KEY (agent_id, position))""",
    """CREATE TABLE raw_agents.events (agent_id text COLLATE "C" NOT NULL, seq bigint NOT NULL,
        channel text NOT NULL, body text NOT NULL, PRIMARY KEY (agent_id, seq))""",
    """CREATE TABLE raw_agents.leases (agent_id text COLLATE "C" PRIMARY KEY,
        owner text NOT NULL, expires_at timestamptz NOT NULL)""",
)
_PG_TAKE = """INSERT INTO raw_agents.leases AS l (agent_id, owner, expires_at)
VALUES (%s, %s, clock_timestamp() + %s * interval '1 millisecond')
ON CONFLICT (agent_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE l.expires_at <= clock_timestamp() RETURNING owner"""
Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]


@attrs.define
class RawPgAgents:
    """psycopg async on a pool of 10: executemany in a pipelined transaction per write."""

    pool: Pool
    engine: str = ""

    async def _query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            return await (await conn.execute(sql, params)).fetchall()

    async def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.cursor().executemany(sql, rows)

    async def append_messages(self, agent: str, first: int, messages: list[Doc]) -> None:
        sql = "INSERT INTO raw_agents.messages (agent_id, position, body) VALUES (%s, %s, %s)"
        await self._write(sql, [(agent, first + i, encode(m)) for i, m in enumerate(messages)])

    async def count_messages(self, agent: str) -> int:
        sql = "SELECT count(*) FROM raw_agents.messages WHERE agent_id = %s"
        return int((await self._query(sql, agent))[0][0])

    async def append_events(self, agent: str, events: list[Event]) -> None:
        sql = "INSERT INTO raw_agents.events (agent_id, seq, channel, body) VALUES (%s, %s, %s, %s)"
        await self._write(sql, [(agent, seq, ch, encode(entry)) for seq, ch, entry in events])

    async def read_events(self, agent: str) -> list[Doc]:
        sql = "SELECT body FROM raw_agents.events WHERE agent_id = %s ORDER BY seq"
        return [json.loads(body) for (body,) in await self._query(sql, agent)]

    async def lock_round_trip(self, agent: str) -> None:
        owner = uuid.uuid4().hex
        if not await self._query(_PG_TAKE, agent, owner, LEASE_MS):
            raise _grant_refused(agent)
        sql = "DELETE FROM raw_agents.leases WHERE agent_id = %s AND owner = %s"
        async with self.pool.connection() as conn:
            await conn.execute(sql, (agent, owner))


@contextlib.asynccontextmanager
async def raw_pg(url: str) -> AsyncIterator[RawAgents]:
    pool: Pool = AsyncConnectionPool(
        url, kwargs={"autocommit": True}, min_size=1, max_size=POOL_SIZE, open=False
    )
    async with pool:
        for statement in _PG_SCHEMA:
            async with pool.connection() as conn:
                await conn.execute(statement)
        yield RawPgAgents(pool, await pg_engine(pool))


@attrs.define
class RawMongoAgents:
    """pymongo async, write concern majority j=true: insert_many per write."""

    db: AsyncDatabase[Doc]  # its collections inherit the durable write concern
    engine: str

    async def append_messages(self, agent: str, first: int, messages: list[Doc]) -> None:
        docs = [{"a": agent, "p": first + i, "j": encode(m)} for i, m in enumerate(messages)]
        await self.db.messages.insert_many(docs)

    async def count_messages(self, agent: str) -> int:
        return int(await self.db.messages.count_documents({"a": agent}))

    async def append_events(self, agent: str, events: list[Event]) -> None:
        docs = [{"a": agent, "s": seq, "c": ch, "j": encode(entry)} for seq, ch, entry in events]
        await self.db.events.insert_many(docs)

    async def read_events(self, agent: str) -> list[Doc]:
        found = self.db.events.find({"a": agent}, {"_id": 0, "j": 1}).sort("s", ASCENDING)
        return [json.loads(doc["j"]) async for doc in found]

    async def lock_round_trip(self, agent: str) -> None:
        owner, now = uuid.uuid4().hex, datetime.datetime.now(datetime.timezone.utc)
        expires = now + datetime.timedelta(milliseconds=LEASE_MS)
        try:  # a held, unexpired lease does not match, so the upsert's insert collides
            await self.db.leases.find_one_and_update(
                {"_id": agent, "expires": {"$lte": now}},
                {"$set": {"owner": owner, "expires": expires}},
                upsert=True,
            )
        except DuplicateKeyError as exc:
            raise _grant_refused(agent) from exc
        await self.db.leases.delete_one({"_id": agent, "owner": owner})


@contextlib.asynccontextmanager
async def raw_mongo(url: str) -> AsyncIterator[RawAgents]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(url)
    try:
        db = client.get_database("raw_agents", write_concern=DURABLE)
        for name, order in (("messages", "p"), ("events", "s")):
            keys = [("a", ASCENDING), (order, ASCENDING)]
            await db[name].create_indexes([IndexModel(keys, unique=True)])
        yield RawMongoAgents(db, await mongo_engine(client))
    finally:
        await client.close()


_REDIS_RELEASE = """if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1]) end return 0"""


@attrs.define
class RawRedisAgents:
    """redis.asyncio: RPUSH per write, LRANGE to read, SET NX PX and a compare-and-delete."""

    client: redis.asyncio.Redis
    engine: str
    release: AsyncScript  # the registered compare-and-delete script

    async def append_messages(self, agent: str, first: int, messages: list[Doc]) -> None:
        await self.client.rpush(f"raw:messages:{agent}", *[encode(m) for m in messages])

    async def count_messages(self, agent: str) -> int:
        return int(await self.client.llen(f"raw:messages:{agent}"))

    async def append_events(self, agent: str, events: list[Event]) -> None:
        await self.client.rpush(f"raw:events:{agent}", *[encode(entry) for _, _, entry in events])

    async def read_events(self, agent: str) -> list[Doc]:
        return [json.loads(text) for text in await self.client.lrange(f"raw:events:{agent}", 0, -1)]

    async def lock_round_trip(self, agent: str) -> None:
        owner, key = uuid.uuid4().hex, f"raw:lock:{agent}"
        if not await self.client.set(key, owner, nx=True, px=LEASE_MS):
            raise _grant_refused(agent)
        await self.release(keys=[key], args=[owner])


@contextlib.asynccontextmanager
async def raw_redis(url: str) -> AsyncIterator[RawAgents]:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        yield RawRedisAgents(
            client, await redis_engine(client), client.register_script(_REDIS_RELEASE)
        )
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def raw_memory(where: str) -> AsyncIterator[RawAgents]:
    yield RawMemoryAgents()


#: kind -> the baseline's opener, given the engine's URL (sqlite: a directory).
RAW_AGENT_BASELINES: dict[
    str, Callable[[str], contextlib.AbstractAsyncContextManager[RawAgents]]
] = {
    "memory": raw_memory,
    "sqlite": raw_sqlite,
    "pg": raw_pg,
    "mongo": raw_mongo,
    "redis": raw_redis,
}
