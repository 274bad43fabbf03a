"""Group commit in kode-sqlite's backend: concurrent writes share a transaction, yet each
caller gets its own result or error and a failing write leaves nothing behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import anyio
import pytest

from kode_core.backend import SchemaComponent
from kode_core.testing import unique_namespace
from kode_sqlite import SqliteBackend, SqliteOptions

pytestmark = pytest.mark.anyio

NOTES = SchemaComponent(
    "notes", 1, {1: lambda ns: [f'CREATE TABLE "{ns}__notes" (n INTEGER PRIMARY KEY)']}
)


class Refused(Exception):
    """A write's own failure, raised after its insert."""


async def test_concurrent_writes_each_get_their_own_result_and_error(tmp_path: Path) -> None:
    namespace = unique_namespace()
    table = f'"{namespace}__notes"'
    backend = SqliteBackend(SqliteOptions(path=str(tmp_path / "kode.db")))
    outcomes: dict[int, object] = {}

    async def write(n: int) -> None:
        def work(conn: sqlite3.Connection) -> int:
            conn.execute(f"INSERT INTO {table} (n) VALUES (?)", (n,))
            if n % 3 == 0:
                raise Refused(n)
            return n * 10

        try:
            outcomes[n] = await backend.write(namespace, NOTES, work)
        except Refused as exc:
            outcomes[n] = exc

    try:
        await backend.migrate(namespace, NOTES)
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for n in range(1, 41):
                    tg.start_soon(write, n)
    finally:
        await backend.aclose()

    for n in range(1, 41):
        if n % 3 == 0:
            outcome = outcomes[n]
            assert isinstance(outcome, Refused)
            assert outcome.args == (n,)
        else:
            assert outcomes[n] == n * 10
    with closing(sqlite3.connect(tmp_path / "kode.db")) as conn:
        stored = [n for (n,) in conn.execute(f"SELECT n FROM {table} ORDER BY n")]
    assert stored == [n for n in range(1, 41) if n % 3 != 0]


async def test_a_write_cancelled_while_queued_leaves_nothing(tmp_path: Path) -> None:
    namespace = unique_namespace()
    table = f'"{namespace}__notes"'
    backend = SqliteBackend(SqliteOptions(path=str(tmp_path / "kode.db")))
    release = anyio.Event()
    started = anyio.Event()

    def insert(n: int) -> Callable[[sqlite3.Connection], None]:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(f"INSERT INTO {table} (n) VALUES (?)", (n,))

        return work

    def slow(conn: sqlite3.Connection) -> None:
        anyio.from_thread.run_sync(started.set)
        anyio.from_thread.run(release.wait)
        conn.execute(f"INSERT INTO {table} (n) VALUES (1)")

    try:
        await backend.migrate(namespace, NOTES)
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(backend.write, namespace, NOTES, slow)
                await started.wait()
                with anyio.move_on_after(0.1):  # queued behind the slow write, then cancelled
                    await backend.write(namespace, NOTES, insert(2))
                release.set()
            await backend.write(namespace, NOTES, insert(3))
    finally:
        await backend.aclose()
    with closing(sqlite3.connect(tmp_path / "kode.db")) as conn:
        stored = [n for (n,) in conn.execute(f"SELECT n FROM {table} ORDER BY n")]
    assert stored == [1, 3]
