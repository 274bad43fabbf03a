"""kode-pg in production shapes: behind PgBouncer in transaction mode, and on a server
whose ``default_transaction_isolation`` is serializable (the kits run there too, see
test_conformance.py); these pin what the kits cannot see."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import psycopg
import pytest
from psycopg import sql

from kode_core import BackendError, BackendUnavailableError, InvalidOptionError
from kode_core.testing import (
    StoreFactory,
    TestServer,
    _pgbouncer,
    pgbouncer_server,
    unique_namespace,
)
from kode_core.testing.agents.samples import conversation
from kode_core.testing.servers import ServerMissingError
from kode_pg import PgBackend, PgOptions, TransactionConflictError
from kode_pg._backend import _settle
from kode_pg._conflicts import ATTEMPTS, retry_conflicts
from kode_pg._options import split_url
from kode_pg._schema import schema_name
from kode_pg._sessions.schema import SESSIONS

pytestmark = pytest.mark.anyio

PLUGINS = ("kode_pg._plugin",)
KEY = {"project_key": "proj", "session_id": "sess"}


def factory(url: str, **defaults: Any) -> StoreFactory:
    return StoreFactory("pg", {"url": url, **defaults}, PLUGINS)


def through(bouncer: TestServer, pg_url: str) -> str:
    """``pg_url``'s database, reached through ``bouncer``."""
    return bouncer.url.rsplit("/", 1)[0] + "/" + pg_url.rsplit("/", 1)[1]


def entry(n: int) -> dict[str, Any]:
    return {"type": "user", "uuid": f"u{n}", "message": {"content": f"entry {n}"}}


async def one(conn: psycopg.AsyncConnection[Any], query: Any) -> Any:
    cur = await conn.execute(query)
    row = await cur.fetchone()
    assert row is not None
    return row[0]


async def run_a_statement_prepared_by_another(backend: PgBackend, namespace: str) -> None:
    """Prepare a statement on one of ``backend``'s connections (threshold 0), put another
    statement with three parameters in its place, and run the first statement again."""
    async with backend.connection(namespace, SESSIONS) as conn:
        await conn.execute("SELECT %s::int", (1,))
        cur = await conn.execute(
            "SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT $1::int'"
        )
        [(name,)] = await cur.fetchall()
        await conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(name)))
        another = sql.SQL("PREPARE {} (int, int, int) AS SELECT 1")
        await conn.execute(another.format(sql.Identifier(name)))
        await conn.execute("SELECT %s::int", (1,))


@pytest.fixture
def lone_pgbouncer(pg_server: TestServer) -> Iterator[TestServer]:
    """PgBouncer in transaction mode with ONE server connection, which every client's
    transactions take turns on: what one client leaves on it, the next one sees."""
    with pgbouncer_server(pg_server, pool_mode="transaction", pool_size=1) as server:
        yield server


@pytest.fixture
async def raw(pg_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A plain connection straight to PostgreSQL."""
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        yield conn


# -- PgBouncer in transaction mode ------------------------------------------------------


async def test_kodes_statement_timeout_never_reaches_another_pgbouncer_client(
    lone_pgbouncer: TestServer, pg_url: str
) -> None:
    url = through(lone_pgbouncer, pg_url)
    async with factory(url, statement_timeout=0.25).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        for n in range(5):
            await store.append(KEY, [entry(n)])
        assert await store.count_entries(KEY) == 5
        [backend] = stores.open_backends
        assert isinstance(backend, PgBackend)
        async with backend.connection(store.namespace, SESSIONS) as conn:
            kodes_pid = await one(conn, "SELECT pg_backend_pid()")
            assert await one(conn, "SHOW statement_timeout") == "250ms"
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
            # The one server connection kode's transactions ran on...
            assert await one(other, "SELECT pg_backend_pid()") == kodes_pid
            # ...has no timeout left for the next client, whose slow statement completes.
            assert await one(other, "SHOW statement_timeout") == "0"
            started = time.monotonic()
            await other.execute("SELECT pg_sleep(0.5)")
            assert time.monotonic() - started >= 0.5


async def test_kodes_statement_timeout_still_holds_after_pgbouncer_restarts(
    lone_pgbouncer: TestServer, pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    async with factory(through(lone_pgbouncer, pg_url), statement_timeout=0.25).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        await store.append(KEY, [entry(0)])
        lone_pgbouncer.stop()
        lone_pgbouncer.start()  # every server connection is new, and so is every client's
        assert await store.count_entries(KEY) == 1
        table = sql.Identifier(schema_name(store.namespace), "session_entries")
        async with raw.transaction():
            await raw.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            started = time.monotonic()
            with pytest.raises(BackendError, match="statement timeout") as caught:
                await store.append(KEY, [entry(1)])  # waits for the lock, then times out
            assert time.monotonic() - started < 2
            assert not isinstance(caught.value, BackendUnavailableError)
        await store.append(KEY, [entry(1)])
        assert await store.count_entries(KEY) == 2


async def test_a_flush_left_by_a_failed_pipeline_no_longer_holds_pgbouncers_server(
    lone_pgbouncer: TestServer, pg_url: str
) -> None:
    # After an error psycopg may leave a pipeline with a Flush and no Sync after it
    # (seen in CI: a pooled connection of kode held PgBouncer's one server connection,
    # idle, for 120 s). Here such a Flush is sent on purpose; kode's settling of a failed
    # transaction must hand the server back to the next client.
    url = through(lone_pgbouncer, pg_url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as left:
        left.pgconn.send_flush_request()
        left.pgconn.flush()
        await anyio.sleep(0.2)  # PgBouncer has given the server to ``left`` by now
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
            with anyio.move_on_after(1) as waiting:
                await other.execute("SELECT 1")
            assert waiting.cancelled_caught  # the server is held for ``left``
        await _settle(left)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
            with anyio.fail_after(5):
                assert await one(other, "SELECT 1") == 1


async def test_a_statement_prepared_by_another_client_is_a_backend_error(pg_url: str) -> None:
    # Behind a transaction pooler with preparation on, a name kode prepared may stand for
    # another client's statement on the shared server connection. Here that statement is
    # put in place on kode's own connection, where it is found at once: PostgreSQL
    # answers with a protocol violation (SQLSTATE 08P01), from a server that is up.
    async with factory(pg_url, prepare_threshold=0).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        assert await store.count_entries(KEY) == 0
        [backend] = stores.open_backends
        assert isinstance(backend, PgBackend)
        with pytest.raises(BackendError, match="bind message supplies 1 param") as caught:
            await run_a_statement_prepared_by_another(backend, store.namespace)
        assert not isinstance(caught.value, BackendUnavailableError)
        assert await store.count_entries(KEY) == 0  # and the backend goes on working


async def test_first_uses_of_a_namespace_from_many_pools_through_pgbouncer_all_succeed(
    pgbouncer_url: str,
) -> None:
    # Each first user checks the schema, then waits for the migration lock; whoever
    # waited must see the schema the winner committed meanwhile, though its server
    # connection looked the name up before (it once tried to create it again: 56 of 240
    # first uses failed with a duplicate key in pg_namespace).
    for _ in range(10):
        namespace = unique_namespace()

        async def first_use(namespace: str = namespace) -> None:
            async with factory(pgbouncer_url).open_agents() as stores:
                store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
                assert await store.load_messages("agent") == []

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(first_use)


@pytest.mark.parametrize(
    ("query", "defaults", "prepared"),
    [
        ("", {}, False),  # kode's default
        ("?pgbouncer=true", {"prepare_threshold": 5}, False),
        ("?prepare_threshold=none", {"prepare_threshold": 0}, False),
        ("", {"prepare_threshold": 5}, True),  # what the default avoids
        ("?prepare_threshold=2", {}, True),
    ],
)
async def test_preparation_settings_decide_what_is_left_on_a_poolers_server_connection(
    lone_pgbouncer: TestServer, pg_url: str, query: str, defaults: dict[str, Any], prepared: bool
) -> None:
    url = through(lone_pgbouncer, pg_url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
        await other.execute("DEALLOCATE ALL")
        async with factory(url + query, max_pool_size=1, **defaults).open() as stores:
            store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
            for _ in range(8):  # past psycopg's default threshold of 5
                assert await store.count_entries(KEY) == 0
            left = await one(other, "SELECT count(*) FROM pg_prepared_statements")
        assert (left > 0) is prepared


async def test_url_flags_turn_preparation_off_and_never_reach_libpq(pgbouncer_url: str) -> None:
    for query in ("?pgbouncer=true", "?prepare_threshold=none&application_name=kode_flags"):
        async with factory(pgbouncer_url + query).open() as stores:
            store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
            for n in range(12):  # past psycopg's own threshold of 5
                await store.append(KEY, [entry(n)])
                assert await store.count_entries(KEY) == n + 1


@pytest.mark.parametrize(
    ("url", "option", "expected"),
    [
        ("postgresql://db/app", None, None),
        ("postgresql://db/app", 5, 5),
        ("postgresql://db/app?prepare_threshold=3", None, 3),
        ("postgresql://db/app?prepare_threshold=none", 5, None),
        ("postgresql://db/app?pgbouncer=true", 5, None),
        ("postgresql://db/app?pgbouncer=false", 5, 5),
        ("postgresql://db/app?prepare_threshold=2&pgbouncer=1", None, None),
    ],
)
def test_preparation_is_off_unless_the_option_or_the_url_turns_it_on(
    url: str, option: int | None, expected: int | None
) -> None:
    assert PgOptions(url=url, prepare_threshold=option).effective_prepare_threshold == expected


def test_kodes_url_parameters_are_taken_out_and_the_others_kept_as_written() -> None:
    url = "postgresql://u:p@h1:5432,h2:5432/db?application_name=my+app&pgbouncer=true&x=%20"
    assert split_url(url + "&prepare_threshold=3") == (
        "postgresql://u:p@h1:5432,h2:5432/db?application_name=my+app&x=%20",
        {"pgbouncer": "true", "prepare_threshold": "3"},
    )
    plain = "postgresql://h/db?sslmode=disable"
    assert split_url(plain) == (plain, {})


@pytest.mark.parametrize(
    "values",
    [
        {"url": "postgresql://kode:s3cret@db/app?pgbouncer=maybe"},
        {"url": "postgresql://kode:s3cret@db/app?prepare_threshold=-1"},
        {"url": "postgresql://kode:s3cret@db/app", "prepare_threshold": -1},
        {"url": "postgresql://kode:s3cret@db/app", "prepare_threshold": True},
    ],
)
def test_bad_preparation_settings_are_refused_before_any_io(values: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        StoreFactory("pg", values, PLUGINS).open()
    assert caught.value.field == (
        "url" if "prepare_threshold" not in values else "prepare_threshold"
    )
    assert "s3cret" not in str(caught.value)


def test_a_missing_pgbouncer_fails_naming_the_package(
    pg_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setattr(_pgbouncer, "_PGBOUNCER_PATHS", ("/nonexistent/pgbouncer",))
    missing = pytest.raises(ServerMissingError, match="apt-get install pgbouncer")
    with missing, pgbouncer_server(pg_server):
        pass


# -- a serializable server default, conflicts ---------------------------------------------


async def test_kodes_transactions_stay_read_committed_on_a_serializable_server(
    serializable_pg: TestServer,
) -> None:
    async with await psycopg.AsyncConnection.connect(serializable_pg.url) as conn:
        assert await one(conn, "SHOW transaction_isolation") == "serializable"
    async with factory(serializable_pg.url, max_pool_size=8).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        [backend] = stores.open_backends
        assert isinstance(backend, PgBackend)
        async with backend.transaction(store.namespace, SESSIONS) as conn:
            assert await one(conn, "SHOW transaction_isolation") == "read committed"
        # The shape: concurrent saves of different agents and lock acquisitions
        # of one agent, each of which failed now and then at SERIALIZABLE.
        tokens: list[int] = []

        async def save(n: int) -> None:
            await store.save_messages(f"agent-{n}", conversation(3, tag=f"a{n}"))

        async def lock() -> None:
            async with store.acquire_agent_lock("shared", timeout=30, lease=30) as held:
                tokens.append(held.token)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for n in range(120):
                    tg.start_soon(save, n)
                for _ in range(20):
                    tg.start_soon(lock)
        assert sorted(await store.list_agents()) == sorted(f"agent-{n}" for n in range(120))
        assert sorted(tokens) == list(range(1, 21))  # each acquirer got it, once


async def test_a_deadlock_in_a_kode_transaction_is_a_named_retryable_error(pg_url: str) -> None:
    async with factory(pg_url, min_pool_size=2).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        await store.count_entries(KEY)
        [backend] = stores.open_backends
        assert isinstance(backend, PgBackend)
        both_hold_one = anyio.Event()
        holding = 0
        outcomes: list[BaseException | None] = []

        async def take(first: int, second: int) -> None:
            nonlocal holding
            try:
                async with backend.transaction(store.namespace, SESSIONS) as conn:
                    await one(conn, f"SELECT pg_advisory_xact_lock({first})::text")
                    holding += 1
                    if holding == 2:
                        both_hold_one.set()
                    await both_hold_one.wait()
                    await one(conn, f"SELECT pg_advisory_xact_lock({second})::text")
            except BackendError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(take, 1, 2)
                tg.start_soon(take, 2, 1)
        errors = [outcome for outcome in outcomes if outcome is not None]
        assert len(errors) == 1  # PostgreSQL broke the cycle...
        assert outcomes.count(None) == 1  # ...and the other transaction went through
        assert isinstance(errors[0], TransactionConflictError)
        assert "deadlock" in str(errors[0])


async def test_conflicts_are_retried_a_bounded_number_of_times() -> None:
    calls = 0

    @retry_conflicts
    async def conflicting(times: int) -> int:
        nonlocal calls
        calls += 1
        if calls <= times:
            raise TransactionConflictError("pg", "could not serialize access")
        return calls

    assert await conflicting(ATTEMPTS - 1) == ATTEMPTS  # the last attempt succeeds
    calls = 0
    with pytest.raises(TransactionConflictError):
        await conflicting(ATTEMPTS)
    assert calls == ATTEMPTS
