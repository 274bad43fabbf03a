"""Behaviour of the pg agent store beyond the kit, checked with PostgreSQL's own counters."""

from __future__ import annotations

import contextlib
import random
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import attrs
import psycopg
import pytest
from psycopg import sql

import kode_pg._plugin
from kode_core import (
    BackendPool,
    ExtendedAgentStore,
    LockTimeoutError,
    SchemaVersionError,
    agent_stores,
    load_registry,
    session_stores,
)
from kode_core.testing import StoreFactory, unique_namespace
from kode_pg import PgBackend
from kode_pg._agents.schema import AGENTS, DATA_TABLES
from kode_pg._schema import schema_name

pytestmark = pytest.mark.anyio

PLUGINS = ("kode_pg._plugin",)
PLUGIN_MODULES = [kode_pg._plugin]
KEY = {"project_key": "proj", "session_id": "sess"}


def factory(url: str, **defaults: Any) -> StoreFactory:
    return StoreFactory("pg", {"url": url, **defaults}, PLUGINS)


def with_app_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def messages(count: int) -> list[dict[str, Any]]:
    return [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": [{"type": "text", "text": f"m{i}"}],
        }
        for i in range(count)
    ]


def tool_calls(count: int, state: str = "PENDING") -> list[dict[str, Any]]:
    return [
        {
            "id": f"call-{i}",
            "name": "bash",
            "state": state,
            "input": {"i": i},
            "approval": {"required": False},
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "audit_trail": [],
        }
        for i in range(count)
    ]


def info(agent_id: str) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "template_id": "assistant",
        "created_at": "2026-01-01T00:00:00Z",
        "message_count": 0,
    }


@pytest.fixture
async def raw(pg_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A plain connection, to look at what the store wrote."""
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        yield conn


async def fetch(conn: psycopg.AsyncConnection[Any], query: Any, *params: Any) -> list[Any]:
    cur = await conn.execute(query, params or None)
    return await cur.fetchall()


@attrs.frozen
class OneConnection:
    store: ExtendedAgentStore
    backend: PgBackend


@pytest.fixture
async def one_connection(pg_url: str) -> AsyncIterator[OneConnection]:
    """An agent store whose pool holds exactly one connection (so its stats can be flushed)."""
    async with factory(pg_url, min_pool_size=1, max_pool_size=1).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        await store.migrate()
        [backend] = stores.open_backends
        assert isinstance(backend, PgBackend)
        yield OneConnection(store, backend)


# -- writes that scale with the change, counted by the server ----------------------------


async def rows_written(target: OneConnection, raw: psycopg.AsyncConnection[Any]) -> int:
    """Rows inserted, updated and deleted in the store's agent tables, by the server's stats."""
    # The pool has one connection: the one that did the writes. Its pending table
    # statistics are flushed to the server's counters when it goes idle after this.
    async with target.backend.connection(target.store.namespace, AGENTS) as conn:
        await conn.execute("SELECT pg_stat_force_next_flush()")
    await raw.execute("SELECT pg_stat_clear_snapshot()")
    [(total,)] = await fetch(
        raw,
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint"
        " FROM pg_stat_user_tables WHERE schemaname = %s AND relname = ANY(%s)",
        schema_name(target.store.namespace),
        list(DATA_TABLES),
    )
    return int(total)


async def test_saving_a_thousand_messages_plus_one_writes_one_row(
    one_connection: OneConnection, raw: psycopg.AsyncConnection[Any]
) -> None:
    store = one_connection.store
    conversation = messages(1001)
    await store.save_messages("agent", conversation[:1000])
    first = await rows_written(one_connection, raw)
    assert first >= 1000  # the counter sees the first save's rows: it can tell

    await store.save_messages("agent", conversation)
    grown = await rows_written(one_connection, raw) - first
    assert grown == 2  # one inserted message row, and the list's token in the agent row

    await store.save_messages("agent", conversation)
    assert (
        await rows_written(one_connection, raw) - first == grown
    )  # an unchanged save writes nothing
    assert len(await store.load_messages("agent")) == 1001


async def test_a_save_that_drops_messages_counts_the_deleted_rows_in_its_metrics(
    one_connection: OneConnection,
) -> None:
    store = one_connection.store
    conversation = messages(5)
    await store.save_messages("agent", conversation)
    before = (await store.metrics()).rows_written
    await store.save_messages("agent", conversation[:2])  # a patch deleting the last three
    assert (await store.metrics()).rows_written - before == 3
    assert len(await store.load_messages("agent")) == 2


async def test_changing_one_tool_call_of_many_rewrites_only_that_row(
    one_connection: OneConnection, raw: psycopg.AsyncConnection[Any]
) -> None:
    store = one_connection.store
    calls = tool_calls(300)
    await store.save_tool_call_records("agent", calls)
    before = await rows_written(one_connection, raw)
    calls[7] = {**calls[7], "state": "COMPLETED"}
    await store.save_tool_call_records("agent", calls)
    assert await rows_written(one_connection, raw) - before == 1


# -- one pool for every service family -----------------------------------------------------


async def connections(raw: psycopg.AsyncConnection[Any], app: str) -> int:
    [(count,)] = await fetch(
        raw,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = %s",
        app,
    )
    return int(count)


async def use_both(pool: BackendPool) -> None:
    namespace = unique_namespace()
    sessions = session_stores(pool).build({"kind": "pg", "options": {"namespace": namespace}})
    agents = agent_stores(pool).build({"kind": "pg", "options": {"namespace": namespace}})
    await sessions.append(KEY, [{"type": "user", "uuid": "u1"}])
    await agents.save_messages("agent", messages(3))
    await agents.append_event(
        "agent",
        {
            "cursor": 1,
            "bookmark": {"seq": 1, "timestamp": "2026-01-01T00:00:00Z"},
            "event": {"channel": "progress", "type": "x"},
        },
    )
    assert await sessions.count_entries(KEY) == 1
    assert len(await agents.load_messages("agent")) == 3


async def test_a_session_store_and_an_agent_store_from_one_pool_share_its_connections(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    app = f"kode_shared_{uuid.uuid4().hex[:8]}"
    defaults = {"pg": {"url": with_app_name(pg_url, app), "min_pool_size": 1, "max_pool_size": 1}}
    assert await connections(raw, app) == 0
    async with BackendPool(
        defaults, registry=load_registry(PLUGIN_MODULES, autoload=False)
    ) as pool:
        await use_both(pool)
        [backend] = pool.open_backends
        assert isinstance(backend, PgBackend)
        assert await connections(raw, app) == 1  # one pool of one connection served both


async def test_two_pools_would_show_as_two_connections(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    # The control for the test above: separate pools are visible in pg_stat_activity.
    app = f"kode_apart_{uuid.uuid4().hex[:8]}"
    defaults = {"pg": {"url": with_app_name(pg_url, app), "min_pool_size": 1, "max_pool_size": 1}}
    registry = load_registry(PLUGIN_MODULES, autoload=False)
    async with (
        BackendPool(defaults, registry=registry) as one,
        BackendPool(defaults, registry=registry) as two,
    ):
        await use_both(one)
        await use_both(two)
        assert await connections(raw, app) == 2


# -- literal prefixes, code point order in an ICU en-US database ---------------------------

# LIKE's and regex's own characters, and pairs ICU en-US orders unlike code points.
PG_SPECIAL_IDS = [
    "a%",
    "a%b",
    "a_b",
    "aXb",
    "a\\b",
    "a\\\\b",
    "a.*b",
    "a[b]",
    "a^b",
    "a$b",
    "a|b",
    "a(b)",
    "A-b",
    "a-b",
    "ab",
    "aB",
    "Ab",
    "a b",
    "é",
    "e",
    "z",
    "a\U0010ffff",
    "a\U0010ffffz",
    "a\ud7ffx",
    "a\ue000",
]


@pytest.mark.parametrize(
    "prefix",
    [
        "a%",
        "a_",
        "a\\",
        "a\\\\",
        "a.*",
        "a[",
        "a^",
        "a(",
        "a-",
        "A",
        "a",
        "é",
        "a\U0010ffff",
        "a\ud7ff",
        "%",
        "_",
        "",
    ],
)
async def test_list_agents_takes_pg_pattern_characters_literally_in_code_point_order(
    pg_url: str, prefix: str
) -> None:
    async with factory(pg_url).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        for agent_id in PG_SPECIAL_IDS:
            await store.save_info(agent_id, info(agent_id))
        expected = sorted(a for a in PG_SPECIAL_IDS if a.startswith(prefix))
        assert await store.list_agents(prefix or None) == expected


async def test_queries_sort_strings_by_code_point_not_by_the_database_locale(
    pg_url: str,
) -> None:
    async with factory(pg_url).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        templates = ["b", "B", "a-b", "ab", "A", "_x", "é"]
        for i, template in enumerate(templates):
            await store.save_info(f"agent-{i}", {**info(f"agent-{i}"), "template_id": template})
        found = await store.query_sessions(sort_by="template_id")
        assert [item.template_id for item in found] == sorted(templates)
        found = await store.query_sessions(sort_by="template_id", sort_order="desc")
        assert [item.template_id for item in found] == sorted(templates, reverse=True)


# -- the lease: the server's clock, exact ids, a counter that outlives the agent ----------


async def lease(raw: psycopg.AsyncConnection[Any], namespace: str, agent_id: str) -> Any:
    rows = await fetch(
        raw,
        sql.SQL(
            "SELECT owner, token, extract(epoch FROM expires_at - clock_timestamp())"
            " FROM {}.agent_locks WHERE agent_id = %s"
        ).format(sql.Identifier(schema_name(namespace))),
        agent_id,
    )
    return rows[0] if rows else None


async def test_the_lease_is_timed_by_the_server_clock_whatever_the_client_clock_says(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    async with factory(pg_url).open_agents() as stores:
        namespace = unique_namespace()
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        async with store.acquire_agent_lock("agent", timeout=1, lease=30) as lock:
            _, token, remaining = await lease(raw, namespace, "agent")
            assert token == lock.token
            assert 25 < float(remaining) <= 30  # the expiry is server time plus the lease
            # No client time enters the lease (the statements compare expires_at with
            # clock_timestamp() only), so machines with skewed clocks agree: held...
            with pytest.raises(LockTimeoutError):
                async with store.acquire_agent_lock("agent", timeout=0.3):
                    pass
            # ...until the server's clock passes the expiry; then the next caller takes
            # over, with the next token, though the holder is alive and renewing.
            await raw.execute(
                sql.SQL(
                    "UPDATE {}.agent_locks SET expires_at = clock_timestamp() - interval '1 ms'"
                ).format(sql.Identifier(schema_name(namespace)))
            )
            async with store.acquire_agent_lock("agent", timeout=1) as taken:
                assert taken.token == lock.token + 1
        assert (await lease(raw, namespace, "agent"))[0] is None  # released: no owner


async def test_leases_are_keyed_by_the_exact_agent_id(pg_url: str) -> None:
    # Ids that an ICU collation, a case fold, trimming or a short hash might merge.
    ids = ["agent", "Agent", "agent ", "agent\u0301", "ägent", "a" * 512, "a" * 511 + "b"]
    async with factory(pg_url).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        async with contextlib.AsyncExitStack() as stack:
            for agent_id in ids:
                lock = await stack.enter_async_context(
                    store.acquire_agent_lock(agent_id, timeout=0.5)
                )
                assert lock.token == 1


async def test_delete_keeps_the_lease_row_and_its_counter(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    async with factory(pg_url).open_agents() as stores:
        namespace = unique_namespace()
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        await store.save_messages("agent", messages(2))
        async with store.acquire_agent_lock("agent", timeout=1) as lock:
            first = lock.token
        await store.delete("agent")
        assert (await lease(raw, namespace, "agent"))[1] == first
        async with store.acquire_agent_lock("agent", timeout=1) as lock:
            assert lock.token == first + 1


# -- delete, storage size, schema versions --------------------------------------------------


async def test_delete_leaves_no_row_of_the_agent_in_any_table(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    async with factory(pg_url).open_agents() as stores:
        namespace = unique_namespace()
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        for agent_id in ("agent", "other"):
            await store.save_info(agent_id, info(agent_id))
            await store.save_messages(agent_id, messages(3))
            await store.save_tool_call_records(agent_id, tool_calls(2))
            await store.save_todos(
                agent_id, {"todos": [], "version": 1, "updated_at": "2026-01-01T00:00:00Z"}
            )
            await store.append_event(
                agent_id,
                {
                    "cursor": 1,
                    "bookmark": {"seq": 1, "timestamp": "2026-01-01T00:00:00Z"},
                    "event": {"channel": "monitor", "type": "x"},
                },
            )
        schema = sql.Identifier(schema_name(namespace))
        await store.delete("agent")
        for table in DATA_TABLES:
            query = sql.SQL("SELECT agent_id, count(*) FROM {}.{} GROUP BY agent_id").format(
                schema, sql.Identifier(table)
            )
            counts = dict(await fetch(raw, query))
            assert "agent" not in counts, table
            assert counts.get("other", 0) >= 1, table


async def test_storage_bytes_sum_this_namespaces_agent_tables(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    async with factory(pg_url).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        other = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        await store.migrate()
        await other.migrate()
        empty = (await store.metrics()).storage_bytes
        assert empty is not None
        assert empty > 0  # the tables' indexes take pages already
        await other.save_messages("agent", messages(500))
        assert (await store.metrics()).storage_bytes == empty  # another namespace's rows
        await store.save_messages("agent", messages(500))
        grown = (await store.metrics()).storage_bytes
        assert grown is not None
        assert grown > empty


async def test_auto_migrate_off_refuses_until_migrate_creates_the_agent_tables(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    async with factory(pg_url).open() as sessions:
        # The session tables of the namespace exist: the agent tables are versioned apart.
        await sessions.build({"kind": "pg", "options": {"namespace": namespace}}).migrate()
    async with factory(pg_url, auto_migrate=False).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        with pytest.raises(SchemaVersionError):
            await store.save_messages("agent", messages(1))
        [(table,)] = await fetch(
            raw, "SELECT to_regclass(%s)::text", f'"{schema_name(namespace)}".agent_messages'
        )
        assert table is None
        await store.migrate()
        await store.save_messages("agent", messages(1))
        assert len(await store.load_messages("agent")) == 1
    rows = await fetch(
        raw,
        sql.SQL("SELECT component, version FROM {}.kode_meta ORDER BY component").format(
            sql.Identifier(schema_name(namespace))
        ),
    )
    assert ("agents", AGENTS.version) in rows
    assert [component for component, _ in rows] == ["agents", "sessions"]


async def test_a_newer_agent_schema_version_is_refused(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    async with factory(pg_url).open_agents() as stores:
        await stores.build({"kind": "pg", "options": {"namespace": namespace}}).migrate()
    await raw.execute(
        sql.SQL("UPDATE {}.kode_meta SET version = %s WHERE component = 'agents'").format(
            sql.Identifier(schema_name(namespace))
        ),
        (AGENTS.version + 1,),
    )
    async with factory(pg_url).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": namespace}})
        with pytest.raises(SchemaVersionError):
            await store.load_messages("agent")


async def test_version_1_tables_gain_the_message_token_and_keep_their_messages(
    pg_url: str, raw: psycopg.AsyncConnection[Any]
) -> None:
    namespace = unique_namespace()
    descriptor = {"kind": "pg", "options": {"namespace": namespace}}
    first = messages(4)
    async with factory(pg_url).open_agents() as stores:
        await stores.build(descriptor).save_messages("agent", first[:3])
    schema = sql.Identifier(schema_name(namespace))
    # What a version 1 namespace holds: no token column, version 1 recorded.
    await raw.execute(sql.SQL("ALTER TABLE {}.agents DROP COLUMN messages_token").format(schema))
    await raw.execute(
        sql.SQL("UPDATE {}.kode_meta SET version = 1 WHERE component = 'agents'").format(schema)
    )
    async with factory(pg_url).open_agents() as stores:
        store = stores.build(descriptor)
        assert [m.to_dict() for m in await store.load_messages("agent")] == first[:3]
        await store.save_messages("agent", first)
        await store.save_messages("agent", [*first, *messages(5)[4:]])
        assert [m.to_dict() for m in await store.load_messages("agent")] == [
            *first,
            *messages(5)[4:],
        ]
        assert await store.schema_version() == AGENTS.version == 2


async def test_concurrent_first_users_in_separate_pools_create_the_agent_tables_once(
    pg_url: str,
) -> None:
    namespace = unique_namespace()
    async with contextlib.AsyncExitStack() as stack:
        maps = [await stack.enter_async_context(factory(pg_url).open_agents()) for _ in range(4)]
        stores = [m.build({"kind": "pg", "options": {"namespace": namespace}}) for m in maps]
        async with anyio.create_task_group() as tg:
            for i, store in enumerate(stores):
                tg.start_soon(store.save_info, f"agent-{i}", info(f"agent-{i}"))
        assert await stores[0].list_agents() == [f"agent-{i}" for i in range(4)]


async def test_long_tool_call_ids_and_document_keys_fit_the_unique_indexes(pg_url: str) -> None:
    # Far over a btree entry's ~2,700 bytes, and incompressible.
    long_id = secrets.token_hex(5000)
    path = "/srv/" + secrets.token_hex(5000) + ".py"
    async with factory(pg_url).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        calls = tool_calls(2)
        calls[1] = {**calls[1], "id": long_id}
        await store.save_tool_call_records("agent", calls)
        calls[1] = {**calls[1], "state": "COMPLETED"}
        await store.save_tool_call_records("agent", calls)
        loaded = await store.load_tool_call_records("agent")
        assert [(call.id, call.state.value) for call in loaded] == [
            ("call-0", "PENDING"),
            (long_id, "COMPLETED"),
        ]
        for content in ("v1", "v2"):  # the second is an upsert of the same key
            await store.save_recovered_file(
                "agent", {"path": path, "content": content, "timestamp": "2026-01-01T00:00:00Z"}
            )
        [found] = await store.load_recovered_files("agent")
        assert (found.path, found.content) == (path, "v2")
        await store.save_info("agent", info("agent"))
        [forked] = await store.fork("agent")
        assert [call.id for call in await store.load_tool_call_records(forked)][1] == long_id
        assert (await store.load_recovered_files(forked))[0].path == path


async def test_the_longest_agent_id_in_four_byte_characters_fits_every_index(
    pg_url: str,
) -> None:
    rng = random.Random(7)
    agent_id = "".join(chr(rng.randrange(0x10000, 0x10FFFF)) for _ in range(512))
    async with factory(pg_url).open_agents() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})
        await store.save_info(agent_id, info(agent_id))
        await store.save_messages(agent_id, messages(2))
        await store.save_tool_call_records(agent_id, tool_calls(2))
        await store.save_recovered_file(
            agent_id, {"path": "/a.py", "content": "x", "timestamp": "2026-01-01T00:00:00Z"}
        )
        await store.append_event(
            agent_id,
            {
                "cursor": 1,
                "bookmark": {"seq": 1, "timestamp": "2026-01-01T00:00:00Z"},
                "event": {"channel": "control", "type": "x"},
            },
        )
        async with store.acquire_agent_lock(agent_id, timeout=1) as lock:
            assert lock.token == 1
        assert await store.list_agents(agent_id[:100]) == [agent_id]
        stats = await store.aggregate_stats(agent_id)
        assert (stats.total_messages, stats.total_tool_calls) == (2, 2)
