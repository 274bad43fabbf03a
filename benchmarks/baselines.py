"""The raw-driver baselines of benchmarks/session_store.py: the yardstick, not a rival.

Each baseline does what a developer would write with the driver alone, and no more:
one record per entry holding its JSON text, a uniqueness constraint on (session,
uuid) so the engine drops repeated uuids, the batch written in one round trip, the
same durability settings as kode's backend on the same server. Reads return decoded
entries, as kode's do. None of them keeps summaries, mtimes or per-session positions,
which kode does; that difference is part of what the ratio measures.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import version
from typing import Any, Protocol

import anyio
import anyio.to_thread
import attrs
import psycopg
import redis.asyncio
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError
from pymongo.write_concern import WriteConcern
from redis.commands.core import AsyncScript

Entry = dict[str, Any]
Reader = Callable[[], Awaitable[list[Entry]]]
#: Compact JSON, the text kode stores too.
encode = functools.partial(json.dumps, separators=(",", ":"))
_DUPLICATE_KEY = 11000


class Subject(Protocol):
    """What the benchmark does to a store, kode's or a baseline's, for one ``session``.

    ``page_reader`` finds, untimed, where the page after the first ``skip`` entries
    starts, and returns the read that is timed.
    """

    async def append(self, session: str, batch: list[Entry]) -> None: ...
    async def count(self, session: str) -> int: ...
    async def page_reader(self, session: str, skip: int, limit: int) -> Reader: ...
    async def load_tail(self, session: str, count: int) -> list[Entry]: ...


class RawSubject(Subject, Protocol):
    """A baseline also says which engine it ran on and with what durability."""

    engine: str


_SQLITE_SCHEMA = """
CREATE TABLE entries (
    id INTEGER PRIMARY KEY, session TEXT NOT NULL, uuid TEXT NOT NULL, body TEXT NOT NULL,
    UNIQUE (session, uuid)
);
CREATE INDEX entries_by_session ON entries (session, id);
"""


@attrs.define
class RawSqlite:
    """sqlite3 in a worker thread (anyio.to_thread, as kode's backend) on a WAL file."""

    conn: sqlite3.Connection
    engine: str

    async def _query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return await anyio.to_thread.run_sync(lambda: self.conn.execute(sql, params).fetchall())

    def _insert(self, rows: list[tuple[str, str, str]]) -> None:
        with self.conn:  # one transaction per batch, committed on exit
            self.conn.executemany(
                "INSERT INTO entries (session, uuid, body) VALUES (?, ?, ?)"
                " ON CONFLICT (session, uuid) DO NOTHING",
                rows,
            )

    async def append(self, session: str, batch: list[Entry]) -> None:
        rows = [(session, entry["uuid"], encode(entry)) for entry in batch]
        await anyio.to_thread.run_sync(self._insert, rows)

    async def count(self, session: str) -> int:
        [(count,)] = await self._query("SELECT count(*) FROM entries WHERE session = ?", session)
        return int(count)

    async def page_reader(self, session: str, skip: int, limit: int) -> Reader:
        after = 0
        if skip:
            sql = "SELECT id FROM entries WHERE session = ? ORDER BY id LIMIT 1 OFFSET ?"
            [(after,)] = await self._query(sql, session, skip - 1)

        async def read() -> list[Entry]:
            sql = "SELECT body FROM entries WHERE session = ? AND id > ? ORDER BY id LIMIT ?"
            return [json.loads(body) for (body,) in await self._query(sql, session, after, limit)]

        return read

    async def load_tail(self, session: str, count: int) -> list[Entry]:
        sql = "SELECT body FROM entries WHERE session = ? ORDER BY id DESC LIMIT ?"
        return [json.loads(body) for (body,) in reversed(await self._query(sql, session, count))]


def _open_sqlite(path: str) -> RawSqlite:
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = wal")  # as kode-sqlite's default journal_mode
    conn.executescript(_SQLITE_SCHEMA)
    [(synchronous,)] = conn.execute("PRAGMA synchronous").fetchall()
    return RawSqlite(conn, f"SQLite {sqlite3.sqlite_version}, WAL, synchronous={synchronous}")


@contextlib.asynccontextmanager
async def raw_sqlite(where: str) -> AsyncIterator[RawSubject]:
    raw = await anyio.to_thread.run_sync(_open_sqlite, os.path.join(where, "raw.db"))
    try:
        yield raw
    finally:
        await anyio.to_thread.run_sync(raw.conn.close)


_PG_SCHEMA = (
    "CREATE SCHEMA raw_bench",
    """CREATE TABLE raw_bench.entries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session text NOT NULL, uuid text NOT NULL, body text NOT NULL,
        UNIQUE (session, uuid))""",
    "CREATE INDEX entries_by_session ON raw_bench.entries (session, id)",
)


@attrs.define
class RawPg:
    """psycopg async, one connection, autocommit: each append is one INSERT of an unnest."""

    conn: psycopg.AsyncConnection[tuple[Any, ...]]
    engine: str = ""

    async def _query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        cursor = await self.conn.execute(sql, params)
        return await cursor.fetchall()

    async def append(self, session: str, batch: list[Entry]) -> None:
        # One statement is one transaction: the batch is all or nothing.
        await self.conn.execute(
            "INSERT INTO raw_bench.entries (session, uuid, body)"
            " SELECT %s, u, b FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t(u, b, n)"
            " ORDER BY n ON CONFLICT (session, uuid) DO NOTHING",
            (session, [entry["uuid"] for entry in batch], [encode(entry) for entry in batch]),
        )

    async def count(self, session: str) -> int:
        sql = "SELECT count(*) FROM raw_bench.entries WHERE session = %s"
        [(count,)] = await self._query(sql, session)
        return int(count)

    async def page_reader(self, session: str, skip: int, limit: int) -> Reader:
        after = 0
        if skip:
            sql = (
                "SELECT id FROM raw_bench.entries WHERE session = %s ORDER BY id OFFSET %s LIMIT 1"
            )
            [(after,)] = await self._query(sql, session, skip - 1)

        async def read() -> list[Entry]:
            sql = (
                "SELECT body FROM raw_bench.entries WHERE session = %s AND id > %s"
                " ORDER BY id LIMIT %s"
            )
            return [json.loads(body) for (body,) in await self._query(sql, session, after, limit)]

        return read

    async def load_tail(self, session: str, count: int) -> list[Entry]:
        sql = "SELECT body FROM raw_bench.entries WHERE session = %s ORDER BY id DESC LIMIT %s"
        return [json.loads(body) for (body,) in reversed(await self._query(sql, session, count))]


@contextlib.asynccontextmanager
async def raw_pg(url: str) -> AsyncIterator[RawSubject]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        raw = RawPg(conn)
        for statement in _PG_SCHEMA:
            await conn.execute(statement)
        [(server,)] = await raw._query("SHOW server_version")
        [(sync,)] = await raw._query("SHOW synchronous_commit")
        raw.engine = f"PostgreSQL {server}, synchronous_commit={sync} (server-wide)"
        yield raw


@attrs.define
class RawMongo:
    """pymongo async: insert_many(ordered=False), a unique (s, u) index drops repeats."""

    entries: AsyncCollection[dict[str, Any]]
    engine: str = ""

    async def append(self, session: str, batch: list[Entry]) -> None:
        docs = [{"s": session, "u": entry["uuid"], "j": encode(entry)} for entry in batch]
        try:
            await self.entries.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(error["code"] != _DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise

    async def count(self, session: str) -> int:
        return await self.entries.count_documents({"s": session})

    async def page_reader(self, session: str, skip: int, limit: int) -> Reader:
        # Client-made ObjectIds increase in insertion order: they are the read order.
        after = ObjectId("0" * 24)
        if skip:
            found = self.entries.find({"s": session}, {"_id": 1}).sort("_id", ASCENDING)
            [doc] = await found.skip(skip - 1).limit(1).to_list()
            after = doc["_id"]

        async def read() -> list[Entry]:
            query = {"s": session, "_id": {"$gt": after}}
            found = self.entries.find(query, {"j": 1}).sort("_id", ASCENDING).limit(limit)
            return [json.loads(doc["j"]) async for doc in found]

        return read

    async def load_tail(self, session: str, count: int) -> list[Entry]:
        found = self.entries.find({"s": session}, {"j": 1}).sort("_id", DESCENDING).limit(count)
        return [json.loads(doc["j"]) for doc in reversed(await found.to_list())]


@contextlib.asynccontextmanager
async def raw_mongo(url: str) -> AsyncIterator[RawSubject]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        # The write concern of kode-mongo's transactions, so both wait for the journal.
        durable = WriteConcern("majority", j=True)
        entries = client["raw_bench"].get_collection("entries", write_concern=durable)
        await entries.create_indexes(
            [
                IndexModel([("s", ASCENDING), ("u", ASCENDING)], unique=True),
                IndexModel([("s", ASCENDING), ("_id", ASCENDING)]),
            ]
        )
        info = await client.server_info()
        engine = f"secantusdb {version('secantusdb')} (reports MongoDB {info['version']})"
        yield RawMongo(entries, f"{engine}, writes w=majority j=true")
    finally:
        await client.close()


# SADD answers 1 only for a uuid not in the set yet: those entries are pushed, in order.
_REDIS_APPEND = """
local fresh = {}
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then fresh[#fresh + 1] = ARGV[i + 1] end
end
if #fresh > 0 then redis.call('RPUSH', KEYS[1], unpack(fresh)) end
return #fresh
"""


@attrs.define
class RawRedis:
    """redis.asyncio: one Lua script per batch (SADD check, then RPUSH), atomic in Redis."""

    client: redis.asyncio.Redis
    script: AsyncScript
    engine: str

    def _log(self, session: str) -> str:
        return f"raw:bench:{session}:log"

    async def append(self, session: str, batch: list[Entry]) -> None:
        args = [part for entry in batch for part in (entry["uuid"], encode(entry))]
        uuids = f"raw:bench:{session}:uuids"
        await self.script(keys=[self._log(session), uuids], args=args)

    async def count(self, session: str) -> int:
        return int(await self.client.llen(self._log(session)))

    async def page_reader(self, session: str, skip: int, limit: int) -> Reader:
        async def read() -> list[Entry]:
            texts = await self.client.lrange(self._log(session), skip, skip + limit - 1)
            return [json.loads(text) for text in texts]

        return read

    async def load_tail(self, session: str, count: int) -> list[Entry]:
        return [
            json.loads(text) for text in await self.client.lrange(self._log(session), -count, -1)
        ]


@contextlib.asynccontextmanager
async def raw_redis(url: str) -> AsyncIterator[RawSubject]:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        info = await client.info("persistence")
        server = (await client.info("server"))["redis_version"]
        fsync = (await client.config_get("appendfsync"))["appendfsync"]
        aof = "on" if info["aof_enabled"] else "off"
        script = client.register_script(_REDIS_APPEND)
        yield RawRedis(client, script, f"Redis {server}, appendonly={aof} appendfsync={fsync}")
    finally:
        await client.aclose()


#: kind -> the baseline's opener, given the engine's URL (sqlite: a directory).
RAW_BASELINES: dict[str, Callable[[str], contextlib.AbstractAsyncContextManager[RawSubject]]] = {
    "sqlite": raw_sqlite,
    "pg": raw_pg,
    "mongo": raw_mongo,
    "redis": raw_redis,
}
