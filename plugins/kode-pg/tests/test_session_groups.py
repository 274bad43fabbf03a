"""The pg session store's group append: concurrent appends of a store share one
statement, yet each batch is stored whole or not at all on its own, with the result the
memory store (the reference) gives for the same calls, and a member's failure is its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import psycopg
import pytest
from psycopg import sql

from kode_core import BackendError, SessionStore
from kode_core.testing import StoreFactory, unique_namespace
from kode_pg._schema import schema_name
from kode_pg._sessions.store import PgSessionStore

pytestmark = pytest.mark.anyio

PLUGINS = ("kode_pg._plugin",)
KEYS = 8


def key(n: int) -> dict[str, str]:
    return {"project_key": "proj", "session_id": f"s{n}"}


def entry(name: str, *, uuid: bool = True, body: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "user",
        "timestamp": "2026-12-06T00:00:00.000Z",
        "message": {"role": "user", "content": f"text {name} {body}"},
    }
    if uuid:
        item["uuid"] = name
    return item


def group_sizes(store: SessionStore) -> list[int]:
    """Records the size of every group statement ``store`` runs from now on."""
    assert isinstance(store, PgSessionStore)
    group = store._group
    run_group = group._run_group
    sizes: list[int] = []

    async def recorded(members: Sequence[Any]) -> Sequence[Any]:
        sizes.append(len(members))
        return await run_group(members)

    group._run_group = recorded
    return sizes


async def at_once(calls: Sequence[Callable[[], Awaitable[None]]]) -> None:
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for call in calls:
                tg.start_soon(call)


async def same_as_reference(pg: SessionStore, reference: SessionStore) -> None:
    for n in range(KEYS):
        assert await pg.load(key(n)) == await reference.load(key(n)), f"key {n}"
        assert await pg.count_entries(key(n)) == await reference.count_entries(key(n))
    data = {s["session_id"]: s["data"] for s in await pg.list_session_summaries("proj")}
    expected = await reference.list_session_summaries("proj")
    assert data == {s["session_id"]: s["data"] for s in expected}
    assert len(data) == KEYS


async def test_grouped_appends_store_each_batch_whole_or_not_at_all(pg_url: str) -> None:
    namespace = unique_namespace()
    config = {"kind": "pg", "options": {"namespace": namespace}}
    factory = StoreFactory("pg", {"url": pg_url}, PLUGINS)
    async with (
        factory.open() as first_stores,
        factory.open() as second_stores,
        StoreFactory("memory", {}).open() as memory_stores,
    ):
        one, two = first_stores.build(config), second_stores.build(config)
        reference = memory_stores.build({"kind": "memory", "options": {"namespace": namespace}})
        sizes = group_sizes(one)

        async def both(store: SessionStore, n: int, batch: list[dict[str, Any]]) -> None:
            await store.append(key(n), batch)
            await reference.append(key(n), batch)

        # The other store creates the odd keys: one has no head for any key, and finds
        # half of them existing (their head is read, and the append runs at it).
        for n in range(1, KEYS, 2):
            await both(two, n, [entry(f"two-{n}")])
        await at_once([lambda n=n: both(one, n, [entry(f"a-{n}")]) for n in range(KEYS)])
        await same_as_reference(one, reference)

        # The other store moves the heads of keys 0 and 1: those members are not stored
        # by the group and take the locking path; the others go in at their heads.
        for n in (0, 1):
            await both(two, n, [entry(f"b-{n}"), entry(f"b-{n}-x", uuid=False)])
        sizes.clear()
        await at_once(
            [
                lambda n=n: both(one, n, [entry(f"c-{n}"), entry(f"c-{n}-x", uuid=False)])
                for n in range(KEYS)
            ]
        )
        assert max(sizes) > 1  # they did share statements
        await same_as_reference(one, reference)

        # Retries (a stored uuid in the batch: only the new entries go in, once) beside
        # new batches, all at once.
        calls = [
            lambda n=n: both(
                one, n, [entry(f"d-{n}"), entry(f"c-{n}")] if n % 2 else [entry(f"c-{n}")]
            )
            for n in range(KEYS)
        ]
        await at_once(calls)
        await same_as_reference(one, reference)
        await same_as_reference(two, reference)


async def test_two_stores_creating_the_same_keys_at_once_store_each_entry_once(
    pg_url: str,
) -> None:
    namespace = unique_namespace()
    config = {"kind": "pg", "options": {"namespace": namespace}}
    factory = StoreFactory("pg", {"url": pg_url}, PLUGINS)
    async with factory.open() as first_stores, factory.open() as second_stores:
        stores = [first_stores.build(config), second_stores.build(config)]
        await stores[0].count_entries(key(0))  # the tables exist before the race

        async def write(s: int, n: int) -> None:
            for b in range(5):
                batch = [entry(f"{s}-{n}-{b}-{i}", uuid=i != 2) for i in range(3)]
                await stores[s].append(key(n), batch)
                await stores[s].append(key(n), batch[:2])  # a retry: nothing new

        await at_once([lambda s=s, n=n: write(s, n) for s in (0, 1) for n in range(KEYS)])
        for n in range(KEYS):
            page = await stores[1].load_page(key(n), limit=1000)
            names = [stored.entry["message"]["content"] for stored in page.entries]
            assert len(names) == len(set(names)) == 2 * 5 * 3
            assert await stores[0].count_entries(key(n)) == 30
            for s in (0, 1):  # each writer's entries in its order
                mine = [name for name in names if name.startswith(f"text {s}-{n}-")]
                assert mine == [f"text {s}-{n}-{b}-{i} " for b in range(5) for i in range(3)]


async def test_a_member_that_fails_fails_alone(pg_url: str) -> None:
    namespace = unique_namespace()
    config = {"kind": "pg", "options": {"namespace": namespace}}
    factory = StoreFactory("pg", {"url": pg_url}, PLUGINS)
    async with factory.open() as stores:
        store = stores.build(config)
        for n in range(KEYS):  # every key's head known
            await store.append(key(n), [entry(f"first-{n}")])
        # An entry with "poison" in it fails on the server: the statement of its group
        # fails, and the members run again on their own.
        schema = sql.Identifier(schema_name(namespace))
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await conn.execute(
                sql.SQL(
                    "CREATE FUNCTION {s}.poison() RETURNS trigger LANGUAGE plpgsql AS $$"
                    " BEGIN IF NEW.body LIKE '%poison%' THEN RAISE 'poisoned entry'; END IF;"
                    " RETURN NEW; END $$"
                ).format(s=schema)
            )
            await conn.execute(
                sql.SQL(
                    "CREATE TRIGGER poison BEFORE INSERT ON {s}.session_entries"
                    " FOR EACH ROW EXECUTE FUNCTION {s}.poison()"
                ).format(s=schema)
            )
        sizes = group_sizes(store)
        failed: dict[int, str] = {}

        async def append(n: int) -> None:
            body = "poison" if n == 3 else ""
            try:
                await store.append(key(n), [entry(f"second-{n}"), entry(f"x-{n}", body=body)])
            except BackendError as exc:
                failed[n] = str(exc)

        await at_once([lambda n=n: append(n) for n in range(KEYS)])
        assert list(failed) == [3]
        assert "poisoned entry" in failed[3]
        assert max(sizes) > 1  # the poisoned member shared a statement before failing
        for n in range(KEYS):
            assert await store.count_entries(key(n)) == (1 if n == 3 else 3)
        # The failed key's head is still right: the next append goes in after it.
        await store.append(key(3), [entry("third-3")])
        loaded = await store.load(key(3))
        assert loaded is not None
        assert [e["uuid"] for e in loaded] == ["first-3", "third-3"]
