"""The redis session store's paths: whole-session loads in pages of ``LRANGE``, and
scripts packed by hiredis and sent on a pooled connection directly. Each test can catch
a path returning or storing something the plain path would not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from kode_core.sessions import SessionKey, SessionStore
from kode_core.sessions import _store as sessions_base
from kode_core.testing import StoreFactory, TestServer, unique_namespace
from kode_redis._sessions import store as store_module
from kode_redis._sessions.schema import KeyLayout

pytestmark = pytest.mark.anyio

KEY = {"project_key": "proj", "session_id": "sess"}
PLUGINS = ("kode_redis._plugin",)


def url_of(server: TestServer) -> str:
    return f"redis://{server.host}:{server.port}/0"


@pytest.fixture
async def raw(shared_server: TestServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(url_of(shared_server), decode_responses=True)
    yield client
    await client.aclose()


def entries(first: int, count: int) -> list[dict[str, object]]:
    return [
        {"type": "t", "uuid": f"u{i}", "text": f"line {i}\nnext ü {'x' * (i % 7)}"}
        for i in range(first, first + count)
    ]


async def paged(store: SessionStore, key: dict[str, str]) -> list[dict[str, Any]]:
    """What the base class's pages give: the reference for ``load``."""
    return [stored.entry async for stored in store.iter_entries(key)]


@pytest.mark.parametrize("page_size", [1000, 7, 5])
async def test_load_returns_every_entry_in_order_across_pages(
    shared_server: TestServer, monkeypatch: pytest.MonkeyPatch, page_size: int
) -> None:
    monkeypatch.setattr(sessions_base, "DEFAULT_PAGE_SIZE", page_size)
    async with StoreFactory("redis", {"url": url_of(shared_server)}, PLUGINS).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": unique_namespace()}})
        assert await store.load(KEY) is None
        written = entries(0, 23)
        for first in range(0, 23, 5):
            await store.append(KEY, written[first : first + 5])
        assert await store.load(KEY) == written == await paged(store, KEY)
        # Exactly a page: the next round trip finds the end.
        monkeypatch.setattr(sessions_base, "DEFAULT_PAGE_SIZE", 23)
        assert await store.load(KEY) == written


async def test_a_stored_text_with_a_raw_newline_loads_as_one_entry(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    # kode's JSON never holds a raw newline, but another writer's may: the entry is one
    # list element, whatever it holds.
    namespace = unique_namespace()
    async with StoreFactory("redis", {"url": url_of(shared_server)}, PLUGINS).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": namespace}})
        await store.append(KEY, [{"type": "first"}])
        log = KeyLayout(namespace).transcript(SessionKey.parse(KEY)).log
        await raw.rpush(log, '{"type": "spread",\n "over": 2}', json.dumps({"type": "last"}))
        expected = [{"type": "first"}, {"type": "spread", "over": 2}, {"type": "last"}]
        assert await store.load(KEY) == expected == await paged(store, KEY)


async def test_an_append_after_the_scripts_are_flushed_loads_them_again_and_stores_once(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    async with StoreFactory("redis", {"url": url_of(shared_server)}, PLUGINS).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": unique_namespace()}})
        await store.append(KEY, entries(0, 2))
        await raw.script_flush()
        await store.append(KEY, entries(1, 3))  # u1 is stored: only u2, u3 are new
        await raw.script_flush()
        assert await store.load(KEY) == entries(0, 4)
        assert await store.count_entries(KEY) == 4


async def test_an_append_on_a_connection_the_server_closed_is_retried_and_stored_once(
    shared_server: TestServer, raw: aioredis.Redis
) -> None:
    async with StoreFactory("redis", {"url": url_of(shared_server)}, PLUGINS).open() as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": unique_namespace()}})
        await store.append(KEY, entries(0, 2))
        for round_ in range(3):
            # Every connection but this one: the store's pooled connection is dead now.
            killed = await raw.client_kill_filter(_type="normal", skipme=True)
            assert killed >= 1
            await store.append(KEY, [*entries(2 + round_, 1), {"type": "no-uuid"}])
        assert await store.count_entries(KEY) == 2 + 3 * 2
        assert await store.load(KEY) == entries(0, 2) + [
            item for i in range(3) for item in (entries(2 + i, 1)[0], {"type": "no-uuid"})
        ]


def counting_fold(prev: Any, key: Any, batch: list[dict[str, Any]]) -> dict[str, Any]:
    count = prev["data"]["count"] if prev else 0
    return {"session_id": key["session_id"], "mtime": 0, "data": {"count": count + len(batch)}}


def script_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the store's append scripts, and fail any snapshot read."""
    calls: list[int] = []
    run_append = store_module.RedisSessionStore._run_append

    async def counted(self: Any, keys: Any, args: Any) -> Any:
        calls.append(1)
        return await run_append(self, keys, args)

    async def no_read(*_: Any) -> None:
        raise AssertionError("the append read a snapshot")

    monkeypatch.setattr(store_module.RedisSessionStore, "_run_append", counted)
    monkeypatch.setattr(store_module.RedisSessionStore, "_read_snapshot", no_read)
    return calls


async def test_the_first_append_to_a_new_session_is_one_script_call(
    shared_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = script_calls(monkeypatch)
    url = {"url": url_of(shared_server)}
    async with StoreFactory("redis", url, PLUGINS).open(summary_fold=counting_fold) as stores:
        store = stores.build({"kind": "redis", "options": {"namespace": unique_namespace()}})
        await store.append(KEY, entries(0, 3))
        await store.append(KEY, entries(3, 2))
        assert calls == [1, 1]
        [summary] = await store.list_session_summaries("proj")
        assert summary["data"] == {"count": 5}


async def test_a_store_new_to_a_written_session_folds_into_its_summary_and_skips_stored_uuids(
    shared_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other store's summary and uuids refute the "new session" guess: the refusal
    # carries them, so the append folds from them (no read) and stores only u3, u4.
    namespace, url = unique_namespace(), {"url": url_of(shared_server)}
    async with StoreFactory("redis", url, PLUGINS).open(summary_fold=counting_fold) as stores:
        options = {"kind": "redis", "options": {"namespace": namespace}}
        await stores.build(options).append(KEY, entries(0, 3))
        calls = script_calls(monkeypatch)
        fresh = stores.build(options)
        await fresh.append(KEY, [*entries(2, 3), {"type": "no-uuid"}])
        assert calls == [1, 1]
        assert await fresh.load(KEY) == [*entries(0, 5), {"type": "no-uuid"}]
        [summary] = await fresh.list_session_summaries("proj")
        assert summary["data"] == {"count": 6}
        await fresh.append(KEY, entries(5, 2))  # its own summary now: one call again
        assert calls == [1, 1, 1]
        [summary] = await fresh.list_session_summaries("proj")
        assert summary["data"] == {"count": 8}
