"""kode-sqlite's session store beyond the conformance kit: the file, connections, locks,
schema versions and the table layout, on real SQLite files."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import pytest

from kode_core import (
    BackendError,
    BackendUnavailableError,
    BuilderMap,
    InvalidOptionError,
    LockTimeoutError,
    SchemaVersionError,
    SessionStore,
)
from kode_core.testing import StoreFactory, unique_namespace
from kode_sqlite._sessions.schema import SESSIONS

pytestmark = pytest.mark.anyio

PLUGINS = ("kode_sqlite._plugin",)
KEY = {"project_key": "proj", "session_id": "sess"}
SUB = {**KEY, "subpath": "subagents/agent-1"}


def factory(path: Path | str, **options: Any) -> StoreFactory:
    return StoreFactory("sqlite", {"path": str(path), **options}, PLUGINS)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[BuilderMap[SessionStore]]:
    async with factory(tmp_path / "kode.db").open() as opened:
        yield opened


def build(stores: BuilderMap[SessionStore], namespace: str | None = None) -> SessionStore:
    return stores.build(
        {"kind": "sqlite", "options": {"namespace": namespace or unique_namespace()}}
    )


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection of the test, as another program using the file would open it."""
    with closing(sqlite3.connect(path, isolation_level=None, timeout=10)) as conn:
        yield conn


def tables_of(path: Path) -> set[str]:
    with raw(path) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}


def fds_open_on(path: Path) -> int:
    """How many file descriptors of this process point at ``path`` (Linux /proc)."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with suppress(OSError):  # closed while listing
            count += os.readlink(fd) == str(path)
    return count


def fingerprint(path: Path) -> tuple[int, int, str]:
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest())


# -- wire policy and construction ------------------------------------------------------


@pytest.mark.parametrize("path", [":memory:", "", "  "])
def test_a_path_that_is_not_a_shared_file_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        factory(path).open()
    assert caught.value.field == "path"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
async def test_builds_touch_no_file_and_a_backend_opens_one_writer_and_few_readers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    async with factory(path, max_connections=2).open() as stores:
        built = [build(stores, f"ns{i}") for i in range(12)]
        assert not path.exists(), "a build must not touch the file"

        async def use(store: SessionStore) -> None:
            await store.append(KEY, [{"type": "t", "uuid": "u"}])
            assert await store.count_entries(KEY) == 1

        async with anyio.create_task_group() as tg:
            for store in built:
                tg.start_soon(use, store)
        # One writer connection plus at most max_connections readers.
        assert 1 <= fds_open_on(path) <= 3
        assert len(stores.open_backends) == 1
    assert fds_open_on(path) == 0


async def test_the_file_is_created_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as stores:
        store = build(stores)
        assert not path.exists()
        await store.append(KEY, [{"type": "t"}])
        assert path.exists()
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]


# -- an engine that cannot be used -----------------------------------------------------


@pytest.mark.parametrize("where", ["missing_directory", "a_directory"])
async def test_a_path_that_cannot_be_opened_is_unavailable_naming_the_path(
    tmp_path: Path, where: str
) -> None:
    path = tmp_path / "missing" / "kode.db" if where == "missing_directory" else tmp_path
    async with factory(path, connect_timeout=2).open() as stores:
        store = build(stores)
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as caught:
            await store.append(KEY, [{"type": "t"}])
        assert time.monotonic() - started < 2 + 0.5
    assert caught.value.backend == "sqlite"
    assert caught.value.address == str(path)
    assert str(path) in str(caught.value)
    assert not (tmp_path / "missing").exists()


async def test_a_file_that_is_not_a_database_is_a_backend_error_and_stays_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the pages you are looking for\n" * 100)
    before = fingerprint(path)
    async with factory(path).open() as stores:
        with pytest.raises(BackendError, match="not a usable SQLite database") as caught:
            await build(stores).append(KEY, [{"type": "t"}])
    assert not isinstance(caught.value, BackendUnavailableError)
    assert str(path) in str(caught.value)
    assert fingerprint(path) == before


async def test_a_writer_holding_the_lock_times_out_the_append_and_the_retry_stores_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    batch = [{"type": "user", "uuid": f"u{i}", "i": i} for i in range(5)] + [{"type": "title"}]
    async with factory(path, busy_timeout=0.5).open() as stores:
        store = build(stores)
        await store.append(KEY, [{"type": "first", "uuid": "u0", "i": 0}])
        with raw(path) as other:
            other.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            with pytest.raises(LockTimeoutError, match="busy_timeout"):
                await store.append(KEY, batch)
            waited = time.monotonic() - started
            assert 0.4 < waited < 0.5 + 1.0
            assert await store.count_entries(KEY) == 1  # readers are not blocked (WAL)
            other.execute("ROLLBACK")
        await store.append(KEY, batch)
        await store.append(KEY, batch)  # a client retrying again changes nothing
        loaded = await store.load(KEY)
    assert loaded == [{"type": "first", "uuid": "u0", "i": 0}, *batch[1:], {"type": "title"}]


async def test_writers_queued_behind_a_held_lock_all_give_up_within_busy_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    async with factory(path, busy_timeout=0.3).open() as stores:
        store = build(stores)
        await store.count_entries(KEY)
        failures: list[BaseException] = []

        async def append(i: int) -> None:
            try:
                await store.append(KEY, [{"type": "t", "uuid": f"w{i}"}])
            except LockTimeoutError as exc:
                failures.append(exc)

        with raw(path) as other:
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                for i in range(3):
                    tg.start_soon(append, i)
            assert time.monotonic() - started < 0.3 + 0.5
            other.execute("ROLLBACK")
        assert len(failures) == 3
        assert await store.count_entries(KEY) == 0


# -- schema versions -------------------------------------------------------------------


async def test_the_schema_version_is_recorded_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as stores:
        store = build(stores, "tenant_a")
        await store.count_entries(KEY)
    with raw(path) as conn:
        rows = conn.execute("SELECT namespace, service, schema_version FROM kode_meta").fetchall()
    assert rows == [("tenant_a", "sessions", SESSIONS.version)]
    assert {"tenant_a__session_keys", "tenant_a__session_entries"} <= tables_of(path)


async def test_a_newer_recorded_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as stores:
        await build(stores, "tenant_a").count_entries(KEY)
    with raw(path) as conn:
        conn.execute("UPDATE kode_meta SET schema_version = ?", (SESSIONS.version + 1,))
    async with factory(path).open() as stores:
        store = build(stores, "tenant_a")
        for _ in range(2):  # refused every time, not only on first use
            with pytest.raises(SchemaVersionError) as caught:
                await store.load(KEY)
            assert caught.value.found == SESSIONS.version + 1
            assert caught.value.supported == SESSIONS.version
            assert "upgrade" in str(caught.value)


async def test_without_auto_migrate_a_fresh_namespace_is_refused_and_nothing_created(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as stores:
        await build(stores, "tenant_a").count_entries(KEY)
    before = tables_of(path)
    async with factory(path, auto_migrate=False).open() as stores:
        with pytest.raises(SchemaVersionError) as caught:
            await build(stores, "tenant_b").append(KEY, [{"type": "t"}])
        assert caught.value.found == 0
        assert "tenant_b" in str(caught.value)
        assert await build(stores, "tenant_a").count_entries(KEY) == 0  # migrated: usable
    assert tables_of(path) == before
    with raw(path) as conn:
        assert conn.execute("SELECT namespace FROM kode_meta").fetchall() == [("tenant_a",)]


async def test_without_auto_migrate_a_missing_file_is_refused_and_not_created(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kode.db"
    async with factory(path, auto_migrate=False).open() as stores:
        with pytest.raises(SchemaVersionError, match="no such file"):
            await build(stores).count_entries(KEY)
    assert not path.exists()


async def test_migrate_creates_a_missing_file_even_without_auto_migrate(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path, auto_migrate=False).open() as stores:
        store = build(stores, "deployed")
        await store.migrate()
        await store.append(KEY, [{"type": "t"}])
    assert "deployed__session_entries" in tables_of(path)


async def test_backends_migrating_one_namespace_at_once_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as one, factory(path, busy_timeout=29).open() as two:
        stores = [build(one, "shared"), build(two, "shared")]
        async with anyio.create_task_group() as tg:
            for i, store in enumerate(stores):
                tg.start_soon(store.append, KEY, [{"type": "t", "uuid": f"u{i}"}])
        assert len(one.open_backends) == len(two.open_backends) == 1
        assert await stores[0].count_entries(KEY) == 2
    with raw(path) as conn:
        assert conn.execute("SELECT count(*) FROM kode_meta").fetchall() == [(1,)]


# -- storage layout --------------------------------------------------------------------


async def test_each_entry_is_one_row_of_json_text_with_per_key_positions(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    entries = [{"type": "t", "uuid": f"u{i}", "big": 2**70 + i, "s": "a\u0000b"} for i in range(3)]
    async with factory(path).open() as stores:
        store = build(stores, "tenant_a")
        await store.append(KEY, entries[:2])
        await store.append(KEY, entries)
        await store.append(SUB, entries[:1])
    with raw(path) as conn:
        rows = conn.execute(
            """SELECT k.subpath, e.position, e.uuid, e.body, typeof(e.body)
               FROM tenant_a__session_entries e JOIN tenant_a__session_keys k ON k.id = e.key_id
               ORDER BY k.subpath, e.position"""
        ).fetchall()
    assert [(subpath, position) for subpath, position, *_ in rows] == [
        ("", 1),
        ("", 2),
        ("", 3),
        ("subagents/agent-1", 1),
    ]
    assert all(kind == "text" for *_, kind in rows)
    assert [json.loads(body) for _, _, _, body, _ in rows[:3]] == entries


async def test_reads_and_listings_are_served_by_indexes(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as stores:
        store = build(stores, "tenant_a")
        await store.append(KEY, [{"type": "t"}])
        sql = store._sql  # type: ignore[attr-defined]
    plans = {
        "read": (sql.read, ("p", "s", "", 0, 10)),
        "read_tail": (sql.read_tail, ("p", "s", "", 10)),
        "sessions": (sql.sessions, ("p", "", 10)),
        "summaries": (sql.summaries, ("p",)),
        "subkeys": (sql.subkeys, ("p", "s")),
    }
    with raw(path) as conn:
        for name, (query, params) in plans.items():
            plan = " | ".join(
                row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params)
            )
            assert "USING" in plan, (name, plan)
            assert "SCAN tenant_a__" not in plan, (name, plan)
            assert "TEMP B-TREE" not in plan, (name, plan)


async def test_deleting_a_main_key_removes_every_row_of_the_session(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    async with factory(path).open() as stores:
        store = build(stores, "tenant_a")
        await store.append(KEY, [{"type": "t", "uuid": "a"}])
        await store.append(SUB, [{"type": "t", "uuid": "a"}])
        await store.append({**KEY, "session_id": "other"}, [{"type": "t"}])
        await store.delete(KEY)
    with raw(path) as conn:
        keys = conn.execute("SELECT session_id FROM tenant_a__session_keys").fetchall()
        entries = conn.execute("SELECT count(*) FROM tenant_a__session_entries").fetchall()
    assert keys == [("other",)]
    assert entries == [(1,)]
