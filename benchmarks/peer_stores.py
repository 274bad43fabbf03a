"""The peers of benchmarks/session_store_peers.py: the session stores a Python agent
builder would otherwise pick, each driven the way its users call it.

- OpenAI Agents SDK (``openai-agents``): ``SQLiteSession`` and ``AsyncSQLiteSession``
  (sqlite), ``SQLAlchemySession`` on asyncpg (pg), ``MongoDBSession`` (mongo) and
  ``RedisSession`` (redis). One session object per conversation, as the SDK's runner
  is given one: ``add_items(batch)`` per append, ``get_items()`` per load.
- Claude Agent SDK (``claude-agent-sdk``): ``InMemorySessionStore`` (memory), and the
  example ``PostgresSessionStore`` (asyncpg, pg) and ``RedisSessionStore`` (redis).
  The examples are not in the SDK's wheel: :func:`claude_examples` fetches the SDK's
  source distribution when the benchmark runs and imports them from a temporary
  directory; they are never copied into this repository. ``append(key, entries)`` per
  append, ``load(key)`` per load.

Every peer stores into its own tables, collections or key prefix on the server kode
uses, through a pool of ``pool_size`` connections where it takes one. Peer packages are
imported when a peer opens: a missing one raises NotAvailable and the run goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs
from _harness import NotAvailable
from baselines import Entry, redis_client
from pymongo import AsyncMongoClient
from session_store import PROJECT, Appender

INSTALL_HINT = "install the peers: uv sync --all-packages --group bench-peers"
#: Where the OpenAI SDK's lazily imported session classes live.
OPENAI_EXTENSIONS = "agents.extensions.memory"
#: The Claude Agent SDK's example stores, in its source distribution.
CLAUDE_EXAMPLES = "examples/session_stores"
CLAUDE_EXAMPLE_MODULES = ("postgres_session_store", "redis_session_store")
PIP_TIMEOUT = 300


def _attribute(module: str, name: str) -> Any:
    """``module.name``, or NotAvailable saying what is missing."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise NotAvailable(f"{module}.{name}: {exc}; {INSTALL_HINT}") from exc


# -- the two ways peers are called -----------------------------------------------------


@attrs.define
class OpenAISessions:
    """OpenAI Agents SDK sessions: one object per conversation, made by ``make`` on first
    use and kept, as an agent server keeps a conversation's session."""

    make: Callable[[str], Any]
    sessions: dict[str, Any] = attrs.Factory(dict)

    def _session(self, name: str) -> Any:
        if name not in self.sessions:
            self.sessions[name] = self.make(name)
        return self.sessions[name]

    async def append(self, session: str, batch: list[Entry]) -> None:
        await self._session(session).add_items(batch)

    async def load(self, session: str) -> list[Entry]:
        items: list[Entry] = await self._session(session).get_items()
        return items

    async def count(self, session: str) -> int:
        return len(await self.load(session))

    async def aclose(self) -> None:
        for session in self.sessions.values():
            closed = session.close() if hasattr(session, "close") else None
            if inspect.isawaitable(closed):  # SQLiteSession.close is synchronous
                await closed


@attrs.define
class ClaudeStore:
    """A Claude Agent SDK ``SessionStore``: one object for every session."""

    store: Any

    @staticmethod
    def _key(session: str) -> dict[str, str]:
        return {"project_key": PROJECT, "session_id": session}

    async def append(self, session: str, batch: list[Entry]) -> None:
        await self.store.append(self._key(session), batch)

    async def load(self, session: str) -> list[Entry]:
        loaded: list[Entry] | None = await self.store.load(self._key(session))
        return loaded or []

    async def count(self, session: str) -> int:
        return len(await self.load(session))


# -- the Claude Agent SDK's example stores, fetched at run time -------------------------


@contextlib.contextmanager
def claude_examples() -> Iterator[dict[str, str]]:
    """Download the installed claude-agent-sdk version's source distribution into a
    temporary directory, extract the example stores and make them importable; yields
    where they came from (version, file, sha256). Raises NotAvailable when pip cannot
    fetch it (no network, or pip missing)."""
    try:
        sdk = version("claude-agent-sdk")
    except PackageNotFoundError as exc:
        raise NotAvailable(f"claude-agent-sdk is not installed; {INSTALL_HINT}") from exc
    with tempfile.TemporaryDirectory(prefix="kode-bench-claude-") as tmp:
        fetch = [sys.executable, "-m", "pip", "download", f"claude-agent-sdk=={sdk}"]
        fetch += ["--no-binary", ":all:", "--no-deps", "--quiet", "--dest", tmp]
        try:
            done = subprocess.run(fetch, capture_output=True, text=True, timeout=PIP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise NotAvailable(f"fetching claude-agent-sdk {sdk}'s sources timed out") from exc
        archives = sorted(Path(tmp).glob("claude_agent_sdk-*.tar.gz"))
        if done.returncode != 0 or not archives:
            why = (done.stderr.strip().splitlines() or ["no archive"])[-1]
            raise NotAvailable(f"could not fetch claude-agent-sdk {sdk}'s sources: {why}")
        folder = Path(tmp, "examples")
        folder.mkdir()
        origin = {"claude-agent-sdk": f"{sdk} (source distribution {archives[0].name})"}
        with tarfile.open(archives[0]) as archive:
            root = archives[0].name.removesuffix(".tar.gz")
            for module in CLAUDE_EXAMPLE_MODULES:
                member = archive.extractfile(f"{root}/{CLAUDE_EXAMPLES}/{module}.py")
                if member is None:
                    raise NotAvailable(f"{CLAUDE_EXAMPLES}/{module}.py is not in {root}")
                text = member.read()
                (folder / f"{module}.py").write_bytes(text)
                origin[f"{CLAUDE_EXAMPLES}/{module}.py"] = hashlib.sha256(text).hexdigest()
        sys.path.insert(0, str(folder))
        try:
            yield origin
        finally:
            sys.path.remove(str(folder))
            for module in CLAUDE_EXAMPLE_MODULES:
                sys.modules.pop(module, None)


# -- openers: (engine URL or sqlite directory, pool size) -> a store --------------------


@contextlib.asynccontextmanager
async def claude_memory(where: str, pool_size: int) -> AsyncIterator[Appender]:
    yield ClaudeStore(_attribute("claude_agent_sdk", "InMemorySessionStore")())


@contextlib.asynccontextmanager
async def openai_sqlite(where: str, pool_size: int) -> AsyncIterator[Appender]:
    # No pool: each session object opens a connection per worker thread, and a lock per
    # database file lets one operation run at a time.
    session = _attribute("agents", "SQLiteSession")
    path = os.path.join(where, "openai.db")
    sessions = OpenAISessions(lambda name: session(name, db_path=path))
    try:
        yield sessions
    finally:
        await sessions.aclose()


@contextlib.asynccontextmanager
async def openai_async_sqlite(where: str, pool_size: int) -> AsyncIterator[Appender]:
    # No pool: each session object holds one aiosqlite connection.
    session = _attribute(OPENAI_EXTENSIONS, "AsyncSQLiteSession")
    path = os.path.join(where, "openai-async.db")
    sessions = OpenAISessions(lambda name: session(name, db_path=path))
    try:
        yield sessions
    finally:
        await sessions.aclose()


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


@contextlib.asynccontextmanager
async def openai_sqlalchemy_pg(url: str, pool_size: int) -> AsyncIterator[Appender]:
    session = _attribute(OPENAI_EXTENSIONS, "SQLAlchemySession")
    create_engine = _attribute("sqlalchemy.ext.asyncio", "create_async_engine")
    _attribute("asyncpg", "create_pool")  # the driver the engine URL names
    engine = create_engine(_asyncpg_url(url), pool_size=pool_size, max_overflow=0)
    try:
        # The tables once, as a migration would; the timed sessions do not check them.
        await session("schema", engine=engine, create_tables=True).get_items()
        sessions = OpenAISessions(lambda name: session(name, engine=engine))
        try:
            yield sessions
        finally:
            await sessions.aclose()
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def claude_postgres(url: str, pool_size: int) -> AsyncIterator[Appender]:
    store = _attribute("postgres_session_store", "PostgresSessionStore")
    create_pool = _attribute("asyncpg", "create_pool")
    pool = await create_pool(url, min_size=1, max_size=pool_size)
    try:
        peer = store(pool=pool)
        await peer.create_schema()
        yield ClaudeStore(peer)
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def openai_mongo(url: str, pool_size: int) -> AsyncIterator[Appender]:
    session = _attribute(OPENAI_EXTENSIONS, "MongoDBSession")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, maxPoolSize=pool_size)
    sessions = OpenAISessions(lambda name: session(name, client=client, database="openai"))
    try:
        yield sessions
    finally:
        await sessions.aclose()
        await client.close()


@contextlib.asynccontextmanager
async def openai_redis(url: str, pool_size: int) -> AsyncIterator[Appender]:
    session = _attribute(OPENAI_EXTENSIONS, "RedisSession")
    client = redis_client(url, pool_size)
    sessions = OpenAISessions(lambda name: session(name, redis_client=client, key_prefix="openai"))
    try:
        yield sessions
    finally:
        await sessions.aclose()
        await client.aclose()


@contextlib.asynccontextmanager
async def claude_redis(url: str, pool_size: int) -> AsyncIterator[Appender]:
    store = _attribute("redis_session_store", "RedisSessionStore")
    client = redis_client(url, pool_size)
    try:
        yield ClaudeStore(store(client=client, prefix="claude"))
    finally:
        await client.aclose()


Opener = Callable[[str, int], contextlib.AbstractAsyncContextManager[Appender]]


@attrs.frozen
class Peer:
    """A store to run beside kode: its name in the table, what it is (``source``, from
    ``distribution``), how to open it, and whether it is a fetched Claude example."""

    name: str
    source: str
    distribution: str
    open: Opener
    example: bool = False


def _openai(name: str, source: str, opener: Opener) -> Peer:
    return Peer(f"openai {name}", source, "openai-agents", opener)


def _claude(name: str, source: str, opener: Opener, *, example: bool = True) -> Peer:
    return Peer(f"claude {name}", source, "claude-agent-sdk", opener, example)


_EXAMPLES = f"{CLAUDE_EXAMPLES}/{{}}.py, fetched"

#: kind -> the peers run on that engine, in table order.
PEERS: dict[str, tuple[Peer, ...]] = {
    "memory": (
        _claude(
            "InMemorySessionStore",
            "claude_agent_sdk.InMemorySessionStore",
            claude_memory,
            example=False,
        ),
    ),
    "sqlite": (
        _openai("SQLiteSession", "agents.SQLiteSession", openai_sqlite),
        _openai(
            "AsyncSQLiteSession", f"{OPENAI_EXTENSIONS}.AsyncSQLiteSession", openai_async_sqlite
        ),
    ),
    "pg": (
        _openai(
            "SQLAlchemySession",
            f"{OPENAI_EXTENSIONS}.SQLAlchemySession, postgresql+asyncpg",
            openai_sqlalchemy_pg,
        ),
        _claude(
            "PostgresSessionStore",
            _EXAMPLES.format("postgres_session_store") + ", asyncpg",
            claude_postgres,
        ),
    ),
    "mongo": (_openai("MongoDBSession", f"{OPENAI_EXTENSIONS}.MongoDBSession", openai_mongo),),
    "redis": (
        _openai("RedisSession", f"{OPENAI_EXTENSIONS}.RedisSession", openai_redis),
        _claude("RedisSessionStore", _EXAMPLES.format("redis_session_store"), claude_redis),
    ),
}

#: What the peers' figures depend on, besides the harness's distributions.
PEER_DISTRIBUTIONS = ("openai-agents", "sqlalchemy", "asyncpg", "aiosqlite")
