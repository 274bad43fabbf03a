"""Behaviour of the pg session store and engine beyond the kit, against real PostgreSQL servers."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import psycopg
import pytest

import kode_pg
from kode_core import BackendError, BackendUnavailableError, InvalidOptionError, SchemaVersionError
from kode_core.sessions import SessionOptions
from kode_core.testing import StoreFactory, TestServer, postgres_server, unique_namespace
from kode_pg import PgOptions, PgSessionStore
from kode_pg._schema import schema_name
from kode_pg._sessions.schema import SESSIONS

pytestmark = pytest.mark.anyio

KEY = {"project_key": "proj", "session_id": "sess"}
SUB = {**KEY, "subpath": "subagents/agent-1"}
PLUGINS = ("kode_pg._plugin",)


def factory(url: str, **defaults: Any) -> StoreFactory:
    return StoreFactory("pg", {"url": url, **defaults}, PLUGINS)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_app_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


@pytest.fixture
async def raw(pg_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A plain connection, to look at what the backend wrote."""
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        yield conn


async def fetch(conn: psycopg.AsyncConnection[Any], query: Any, *params: Any) -> list[Any]:
    cur = await conn.execute(query, params or None)
    return await cur.fetchall()


@pytest.fixture
def dedicated_server() -> Iterator[TestServer]:
    """A server of its own, for the test that stops and restarts it."""
    with postgres_server() as server:
        yield server


# -- package and options --------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"url": "mysql://db:3306/app"}, "url"),
        ({"url": "postgresql:///app"}, "url"),
        ({"url": "postgresql://db/app", "min_pool_size": -1}, "min_pool_size"),
        ({"url": "postgresql://db/app", "max_pool_size": 0}, "max_pool_size"),
        ({"url": "postgresql://db/app", "min_pool_size": 5, "max_pool_size": 2}, "max_pool_size"),
        ({"url": "postgresql://db/app", "statement_timeout": 0}, "statement_timeout"),
    ],
)
def test_invalid_server_options_are_refused_naming_the_field(
    values: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        StoreFactory("pg", values, PLUGINS).open()
    assert caught.value.field == field


def test_the_url_and_its_password_stay_out_of_reprs() -> None:
    options = PgOptions(url="postgresql://kode:s3cret@db.internal:5432/app")
    backend = kode_pg.PgBackend(options)
    store = PgSessionStore(backend, options, SessionOptions())
    for text in (repr(options), repr(backend), repr(store)):
        assert "s3cret" not in text
    assert backend.address == "db.internal:5432"


# -- one pool, many namespaces --------------------------------------------------------


async def test_a_thousand_namespaces_share_one_pool_and_few_connections(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    app = f"kode_pool_{uuid.uuid4().hex[:8]}"
    stores_factory = factory(with_app_name(pg_url, app), max_pool_size=3)
    async with stores_factory.open() as stores:
        built = [stores.build(stores_factory.descriptor(f"n{i:04d}_{app}")) for i in range(1000)]
        assert len(stores.open_backends) == 1
        assert len({store.namespace for store in built}) == 1000
        async with anyio.create_task_group() as tg:
            for store in built[:12]:
                tg.start_soon(store.append, KEY, [{"type": "t", "uuid": "u"}])
        for store in built[:12]:
            assert await store.count_entries(KEY) == 1
        [(connections,)] = await fetch(
            raw, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", app
        )
        assert 1 <= connections <= 3
    # Server processes exit a moment after their client hangs up.
    with anyio.fail_after(5):
        while await fetch(raw, "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", app):
            await anyio.sleep(0.02)


# -- an engine that is not there ------------------------------------------------------


async def test_an_unreachable_engine_fails_fast_without_leaking_the_password() -> None:
    port = closed_port()
    url = f"postgresql://kode:s3cret@127.0.0.1:{port}/postgres"
    async with factory(url, connect_timeout=1.5).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": "nowhere"}})
        for _ in range(2):  # a failed open is retried by the next call, just as fast
            started = time.monotonic()
            with pytest.raises(BackendUnavailableError) as caught:
                await store.append(KEY, [{"type": "t"}])
            elapsed = time.monotonic() - started
            assert elapsed < 1.5 + 1.0
            error = caught.value
            assert error.backend == "pg"
            assert error.address == f"127.0.0.1:{port}"
            assert f"127.0.0.1:{port}" in str(error)
            assert "s3cret" not in str(error)
            assert "Connection refused" in str(error)  # the driver's reason, not the pool's
            assert isinstance(error.__cause__, psycopg.OperationalError)


async def test_a_stopped_engine_fails_the_append_and_the_retry_after_restart_stores_once(
    dedicated_server: TestServer,
) -> None:
    timeout = 1.5
    async with factory(dedicated_server.url, connect_timeout=timeout).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": "restart"}})
        first = [{"type": "t", "uuid": f"a{i}"} for i in range(3)]
        retried = [{"type": "t", "uuid": f"b{i}"} for i in range(3)] + [{"type": "no_uuid"}]
        await store.append(KEY, first)

        dedicated_server.stop()
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as caught:
            await store.append(KEY, retried)
        assert time.monotonic() - started < timeout + 1.0
        assert caught.value.address == f"{dedicated_server.host}:{dedicated_server.port}"
        # A few more failures: the outage lasts long enough for reconnection back-off
        # to grow past the timeout, which must not delay recovery.
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(BackendUnavailableError):
                await store.count_entries(KEY)
            assert time.monotonic() - started < timeout + 1.0

        dedicated_server.start()
        await store.append(KEY, retried)
        await store.append(KEY, retried[:3])  # a second retry of the uuid'd part: no-op
        assert await store.load(KEY) == first + retried
        assert await store.count_entries(KEY) == 7


# -- schema versions ------------------------------------------------------------------


async def test_the_schema_version_is_recorded_per_namespace(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    async with factory(pg_url).open() as stores:
        await stores.build({"kind": "pg", "options": {"namespace": namespace}}).count_entries(KEY)
    rows = await fetch(
        raw,
        psycopg.sql.SQL("SELECT component, version FROM {}.kode_meta").format(
            psycopg.sql.Identifier(schema_name(namespace))
        ),
    )
    assert rows == [("sessions", SESSIONS.version)]


async def test_a_newer_recorded_schema_version_is_refused(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    descriptor = {"kind": "pg", "options": {"namespace": namespace}}
    async with factory(pg_url).open() as stores:
        await stores.build(descriptor).append(KEY, [{"type": "t"}])
    await raw.execute(
        psycopg.sql.SQL("UPDATE {}.kode_meta SET version = %s").format(
            psycopg.sql.Identifier(schema_name(namespace))
        ),
        (SESSIONS.version + 1,),
    )
    async with factory(pg_url).open() as stores:
        with pytest.raises(SchemaVersionError) as caught:
            await stores.build(descriptor).load(KEY)
    assert (caught.value.found, caught.value.supported) == (SESSIONS.version + 1, SESSIONS.version)
    assert "upgrade" in str(caught.value)


async def test_auto_migrate_off_on_a_fresh_namespace_refuses_and_creates_nothing(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    async with factory(pg_url, auto_migrate=False).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        with pytest.raises(SchemaVersionError) as caught:
            await store.append(KEY, [{"type": "t"}])
        assert caught.value.found == 0
        with pytest.raises(SchemaVersionError):
            await store.list_sessions("proj")
    assert (
        await fetch(raw, "SELECT 1 FROM pg_namespace WHERE nspname = %s", schema_name(namespace))
        == []
    )


async def test_concurrent_first_users_in_separate_pools_migrate_once(pg_url: str) -> None:
    namespace = unique_namespace()
    maps = [factory(pg_url).open() for _ in range(4)]
    try:
        stores = [m.build({"kind": "pg", "options": {"namespace": namespace}}) for m in maps]
        async with anyio.create_task_group() as tg:
            for i, store in enumerate(stores):
                tg.start_soon(store.append, KEY, [{"type": "t", "uuid": f"u{i}"}])
        assert await stores[0].count_entries(KEY) == 4
    finally:
        for m in maps:
            await m.aclose()


# -- what is stored, and how -----------------------------------------------------------


async def test_each_entry_is_one_row_of_exact_json_text_in_position_order(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    entries: list[dict[str, Any]] = [
        {"type": "t", "uuid": "a", "nul": "x\u0000y", "big": 2**80, "$k": {"a.b": 1}},
        {"type": "t", "uuid": "b"},
        {"type": "no_uuid"},
    ]
    async with factory(pg_url).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        await store.append(KEY, entries)
        await store.append(KEY, [{"type": "t", "uuid": "a"}, {"type": "t", "uuid": "c"}])
    schema = psycopg.sql.Identifier(schema_name(namespace))
    rows = await fetch(
        raw,
        psycopg.sql.SQL(
            "SELECT e.position, e.uuid, e.body FROM {0}.session_entries e"
            " JOIN {0}.session_keys k ON k.id = e.key_id ORDER BY e.position"
        ).format(schema),
    )
    # The skipped duplicate "a" leaves position 4 unused: gaps, never reordering.
    assert [(position, uuid_) for position, uuid_, _ in rows] == [
        (1, "a"),
        (2, "b"),
        (3, None),
        (5, "c"),
    ]
    assert [json.loads(body) for _, _, body in rows] == [*entries, {"type": "t", "uuid": "c"}]
    assert "\\u0000" in rows[0][2]  # the NUL travels escaped inside the JSON text
    [key_row] = await fetch(
        raw,
        psycopg.sql.SQL("SELECT subpath, last_position, entry_count FROM {}.session_keys").format(
            schema
        ),
    )
    assert key_row == ("", 5, 4)


async def test_the_unique_indexes_behind_dedupe_and_listings_exist(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    async with factory(pg_url).open() as stores:
        await stores.build({"kind": "pg", "options": {"namespace": namespace}}).count_entries(KEY)
    indexes = dict(
        await fetch(
            raw,
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
            schema_name(namespace),
        )
    )
    assert "UNIQUE" in indexes["session_keys_key"]
    assert "(project_key, session_id, subpath)" in indexes["session_keys_key"]
    assert "UNIQUE" in indexes["session_entries_uuid"]
    assert "(key_id, uuid) WHERE (uuid IS NOT NULL)" in indexes["session_entries_uuid"]
    assert '(key_id, "position")' in indexes["session_entries_pkey"]


async def test_a_batch_of_only_stored_uuids_changes_nothing(pg_url: str) -> None:
    async with factory(pg_url).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        await store.append(KEY, [{"type": "t", "uuid": "a"}])
        [before] = await store.list_sessions("proj")
        await anyio.sleep(0.01)
        await store.append(KEY, [{"type": "t", "uuid": "a"}])
        assert await store.list_sessions("proj") == [before]
        page = await store.load_page(KEY)
        assert [stored.position for stored in page.entries] == [1]


async def test_deleting_a_main_key_cascades_to_subkeys_and_their_entries(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    async with factory(pg_url).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        await store.append(KEY, [{"type": "t"}] * 3)
        await store.append(SUB, [{"type": "t"}] * 2)
        await store.append({**KEY, "session_id": "other"}, [{"type": "t"}])
        await store.delete(KEY)
    schema = psycopg.sql.Identifier(schema_name(namespace))
    counts = await fetch(
        raw,
        psycopg.sql.SQL(
            "SELECT (SELECT count(*) FROM {0}.session_keys),"
            " (SELECT count(*) FROM {0}.session_entries)"
        ).format(schema),
    )
    assert counts == [(1, 1)]


async def test_statement_timeout_is_set_in_each_of_kodes_transactions(pg_url: str) -> None:
    async with factory(pg_url, statement_timeout=0.25).open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        await store.count_entries(KEY)
        [backend] = stores.open_backends
        assert isinstance(backend, kode_pg.PgBackend)
        async with backend.connection(store.namespace, SESSIONS) as conn:
            cur = await conn.execute("SHOW statement_timeout")
            assert await cur.fetchone() == ("250ms",)
            with pytest.raises(BackendError, match="statement timeout"):
                async with backend.connection(store.namespace, SESSIONS) as slow:
                    await slow.execute("SELECT pg_sleep(2)")
