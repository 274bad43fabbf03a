"""kode-sqlite's agent store beyond the conformance kit: write counts, one backend for both
families, schema versions, literal prefixes, the lease row, on real SQLite files."""

from __future__ import annotations

import importlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from kode_core import (
    BackendPool,
    BuilderMap,
    ExtendedAgentStore,
    LockTimeoutError,
    SchemaVersionError,
    agent_stores,
    load_registry,
    session_stores,
)
from kode_core.testing import StoreFactory, unique_namespace
from kode_core.testing.agents.samples import conversation
from kode_sqlite import SqliteAgentStore
from kode_sqlite._agents.schema import AGENTS

pytestmark = pytest.mark.anyio

PLUGINS = ("kode_sqlite._plugin",)


def factory(path: Path, **options: Any) -> StoreFactory:
    return StoreFactory("sqlite", {"path": str(path), **options}, PLUGINS)


@pytest.fixture
async def agents(tmp_path: Path) -> AsyncIterator[BuilderMap[ExtendedAgentStore]]:
    async with factory(tmp_path / "kode.db").open_agents() as opened:
        yield opened


def build(agents: BuilderMap[ExtendedAgentStore], namespace: str) -> SqliteAgentStore:
    store = agents.build({"kind": "sqlite", "options": {"namespace": namespace}})
    assert isinstance(store, SqliteAgentStore)
    return store


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection, as another program using the file would open it."""
    with closing(sqlite3.connect(path, isolation_level=None, timeout=10)) as conn:
        yield conn


async def writer_changes(store: SqliteAgentStore) -> int:
    """``total_changes`` of the backend's one writer connection: every row it has written."""

    def work(conn: sqlite3.Connection) -> int:
        return conn.total_changes

    return await store._backend.write(store.namespace, AGENTS, work)


def fds_open_on(path: Path) -> int:
    """How many file descriptors of this process point at ``path`` (Linux /proc)."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with suppress(OSError):  # closed while listing
            count += os.readlink(fd) == str(path)
    return count


# -- (a) writes -------------------------------------------------------------------------


async def test_saving_a_thousand_messages_that_gained_one_changes_one_row(
    agents: BuilderMap[ExtendedAgentStore],
) -> None:
    store = build(agents, unique_namespace())
    messages = conversation(1001)
    await store.save_messages("agent", messages[:1000])
    before = await writer_changes(store)
    await store.save_messages("agent", messages)
    # The new row and the list's token; the agents row was there.
    assert await writer_changes(store) - before == 2
    assert len(await store.load_messages("agent")) == 1001

    before = await writer_changes(store)
    await store.save_messages("agent", messages)  # nothing changed: nothing written
    assert await writer_changes(store) - before == 0

    before = await writer_changes(store)
    await store.save_messages("agent", messages[:999])  # two dropped: two deletes, the token
    assert await writer_changes(store) - before == 3


async def test_a_failed_replace_leaves_the_stored_list_whole(
    agents: BuilderMap[ExtendedAgentStore], tmp_path: Path
) -> None:
    namespace = unique_namespace()
    store = build(agents, namespace)
    await store.save_messages("agent", conversation(3))
    table = f"{namespace}__agent_messages"
    with raw(tmp_path / "kode.db") as conn:
        # Another program breaks the second upsert: the whole transaction must roll back.
        conn.execute(
            f"""CREATE TRIGGER refuse BEFORE INSERT ON "{table}" WHEN NEW.position = 4
                BEGIN SELECT RAISE(ABORT, 'refused'); END"""
        )
    with pytest.raises(Exception, match="refused"):
        await store.save_messages("agent", conversation(5, tag="x"))
    assert await store.load_messages("agent") == conversation(3)


# -- (b) one backend for both families ----------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
async def test_a_session_store_and_an_agent_store_from_one_pool_share_the_connections(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    registry = load_registry([importlib.import_module(name) for name in PLUGINS], autoload=False)
    async with BackendPool({"sqlite": {"path": str(path)}}, registry=registry) as pool:
        sessions = session_stores(pool, registry=registry)
        agents = agent_stores(pool, registry=registry)
        descriptor = {"kind": "sqlite", "options": {"namespace": "tenant_a"}}
        session_store = sessions.build(descriptor)
        agent_store = agents.build(descriptor)
        assert len(pool.open_backends) == 1
        assert agent_store._backend is session_store._backend  # type: ignore[attr-defined]

        key = {"project_key": "p", "session_id": "s"}
        await session_store.append(key, [{"type": "t", "uuid": "u"}])
        assert await session_store.count_entries(key) == 1
        opened = fds_open_on(path)
        assert opened == 2  # the writer connection and one reader

        await agent_store.save_messages("agent", conversation(3))
        assert len(await agent_store.load_messages("agent")) == 3
        assert fds_open_on(path) == opened


async def test_agent_and_session_tables_migrate_apart(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open_agents() as agents:
        await build(agents, "tenant_a").migrate()
    with raw(path) as conn:
        services = conn.execute("SELECT namespace, service, schema_version FROM kode_meta")
        assert services.fetchall() == [("tenant_a", "agents", AGENTS.version)]
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "tenant_a__agent_messages" in names
    assert not any("session" in name for name in names)


async def test_without_auto_migrate_an_unmigrated_namespace_is_refused_until_migrated(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as sessions:  # the session tables alone are there
        await sessions.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}}).migrate()
    async with factory(path, auto_migrate=False).open_agents() as agents:
        store = build(agents, "tenant_a")
        with pytest.raises(SchemaVersionError, match="agents tables"):
            await store.save_messages("agent", conversation(1))
        await store.migrate()
        await store.save_messages("agent", conversation(1))
        assert await store.exists("agent")


async def test_a_newer_agent_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open_agents() as agents:
        await build(agents, "tenant_a").migrate()
    with raw(path) as conn:
        conn.execute("UPDATE kode_meta SET schema_version = 99 WHERE service = 'agents'")
    async with factory(path).open_agents() as agents:
        with pytest.raises(SchemaVersionError) as caught:
            await build(agents, "tenant_a").load_messages("agent")
    assert (caught.value.found, caught.value.supported) == (99, AGENTS.version)


async def test_version_1_tables_gain_the_message_token_and_keep_their_messages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    messages = conversation(4)
    async with factory(path).open_agents() as agents:
        await build(agents, "tenant_a").save_messages("agent", messages[:3])
    with raw(path) as conn:  # what a version 1 namespace holds
        conn.execute('ALTER TABLE "tenant_a__agent_ids" DROP COLUMN messages_token')
        conn.execute("UPDATE kode_meta SET schema_version = 1 WHERE service = 'agents'")
    async with factory(path).open_agents() as agents:
        store = build(agents, "tenant_a")
        assert await store.load_messages("agent") == messages[:3]
        await store.save_messages("agent", messages)
        await store.save_messages("agent", [*messages, conversation(1, "more")[0]])
        assert await store.load_messages("agent") == [*messages, conversation(1, "more")[0]]
        assert await store.schema_version() == AGENTS.version == 2


async def test_storage_bytes_count_this_namespaces_agent_tables_only(
    agents: BuilderMap[ExtendedAgentStore],
) -> None:
    store, other = build(agents, unique_namespace()), build(agents, unique_namespace())
    await store.migrate()
    empty = (await store.metrics()).storage_bytes
    await other.save_messages("agent", conversation(300))
    assert (await store.metrics()).storage_bytes == empty
    await store.save_messages("agent", conversation(300))
    grown = (await store.metrics()).storage_bytes
    assert empty is not None
    assert grown is not None
    assert grown > empty


# -- (c) literal prefixes -------------------------------------------------------------------

SQLITE_PATTERN_IDS = [
    "a%b", "a%", "aXb", "a_b", "aab", "a*b", "a?b", "a[b]", "a[", "ab", "a\\b", "a\\", "A_b",
    "a.*b", "a.b", "a'b", "a\"b", "a\U0010ffff", "a\U0010ffffz", "b", "\ud7ffx", "\ue000",
]  # fmt: skip


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a%", ["a%", "a%b"]),  # LIKE's any-string
        ("a_", ["a_b"]),  # LIKE's one character, and case-insensitive LIKE would add "A_b"
        ("a*", ["a*b"]),  # GLOB's any-string
        ("a?", ["a?b"]),  # GLOB's one character
        ("a[", ["a[", "a[b]"]),  # GLOB's character class
        ("a\\", ["a\\", "a\\b"]),  # an escape character
        ("a.*", ["a.*b"]),  # a regex
        ("a\U0010ffff", ["a\U0010ffff", "a\U0010ffffz"]),  # no code point above it
        ("\ud7ff", ["\ud7ffx"]),  # its successor skips the surrogates
    ],
)
async def test_prefixes_are_literal_even_with_sqlite_pattern_characters(
    agents: BuilderMap[ExtendedAgentStore], prefix: str, expected: list[str]
) -> None:
    store = build(agents, unique_namespace())
    for agent_id in SQLITE_PATTERN_IDS:
        await store.save_messages(agent_id, [])
    assert await store.list_agents(prefix) == expected
    assert await store.list_agents() == sorted(SQLITE_PATTERN_IDS)  # code point order


async def test_content_type_filters_match_whole_block_types_only(
    agents: BuilderMap[ExtendedAgentStore],
) -> None:
    store = build(agents, unique_namespace())
    lookalike = {"role": "user", "content": [{"type": 'x"text'}, {"type": "text_v2"}]}
    plain = {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    await store.save_messages("agent", [lookalike, plain])
    found = await store.query_messages(content_type="text")
    assert [item.position for item in found] == [1]


# -- (d) the lease row --------------------------------------------------------------------


async def test_the_lease_is_a_row_in_the_file_that_another_process_sees(
    agents: BuilderMap[ExtendedAgentStore], tmp_path: Path
) -> None:
    namespace = unique_namespace()
    store = build(agents, namespace)
    leases = f'"{namespace}__agent_leases"'
    async with store.acquire_agent_lock("a%1", timeout=5) as lock:
        with raw(tmp_path / "kode.db") as conn:
            [(owner, token)] = conn.execute(
                f"SELECT owner, token FROM {leases} WHERE agent_id = 'a%1'"
            ).fetchall()
        assert owner is not None
        assert token == lock.token
    with raw(tmp_path / "kode.db") as conn:
        rows = conn.execute(f"SELECT agent_id, owner, token FROM {leases}").fetchall()
    assert rows == [("a%1", None, 1)]  # released: no owner, the counter kept


async def test_a_lapsed_lease_is_taken_over_and_the_token_still_grows(
    agents: BuilderMap[ExtendedAgentStore], tmp_path: Path
) -> None:
    namespace = unique_namespace()
    store = build(agents, namespace)
    leases = f'"{namespace}__agent_leases"'
    await store.migrate()
    with raw(tmp_path / "kode.db") as conn:
        # A holder that died long ago: its lease lapsed by this machine's clock.
        conn.execute(f"INSERT INTO {leases} VALUES ('agent', 'dead-owner', 1, 41)")
    async with store.acquire_agent_lock("agent", timeout=5) as lock:
        assert lock.token == 42
    with raw(tmp_path / "kode.db") as conn:
        # A live holder elsewhere: its lease runs an hour from now.
        an_hour_on = int(time.time() * 1000) + 3_600_000
        conn.execute(f"UPDATE {leases} SET owner = 'live-owner', expires_ms = ?", (an_hour_on,))
    with pytest.raises(LockTimeoutError):
        async with store.acquire_agent_lock("agent", timeout=0.3):
            pass


async def test_delete_keeps_the_lock_counter_so_tokens_never_repeat(
    agents: BuilderMap[ExtendedAgentStore],
) -> None:
    store = build(agents, unique_namespace())
    await store.save_messages("agent", conversation(2))
    async with store.acquire_agent_lock("agent", timeout=5) as first:
        first_token = first.token
    await store.delete("agent")
    assert not await store.exists("agent")
    assert await store.list_agents() == []
    async with store.acquire_agent_lock("agent", timeout=5) as second:
        assert second.token == first_token + 1
