"""The pg session store's one-statement append at a remembered head: whatever other
writers do between two appends of a store, the transcript and its summary are those
the memory store (the reference) keeps for the same calls in the same order."""

from __future__ import annotations

from typing import Any

import pytest

from kode_core import SessionStore
from kode_core.testing import StoreFactory, unique_namespace

pytestmark = pytest.mark.anyio

KEY = {"project_key": "proj", "session_id": "sess"}
SUB = {**KEY, "subpath": "subagents/agent-1"}
PLUGINS = ("kode_pg._plugin",)


def entry(name: str, *, uuid: bool = True, kind: str = "user") -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": kind,
        "timestamp": "2026-12-05T00:00:00.000Z",
        "message": {"role": kind, "content": f"text {name}"},
    }
    if uuid:
        item["uuid"] = name
    return item


async def same_as_reference(pg: SessionStore, reference: SessionStore) -> None:
    for key in (KEY, SUB):
        assert await pg.load(key) == await reference.load(key)
        assert await pg.count_entries(key) == await reference.count_entries(key)
        page = await pg.load_page(key)
        positions = [stored.position for stored in page.entries]
        assert positions == sorted(set(positions))
    data = [s["data"] for s in await pg.list_session_summaries("proj")]
    assert data == [s["data"] for s in await reference.list_session_summaries("proj")]


async def test_two_stores_taking_turns_on_one_key_match_the_reference(pg_url: str) -> None:
    namespace = unique_namespace()
    config = {"kind": "pg", "options": {"namespace": namespace}}
    pg_factory = StoreFactory("pg", {"url": pg_url}, PLUGINS)
    async with (
        pg_factory.open() as first_stores,
        pg_factory.open() as second_stores,
        StoreFactory("memory", {}).open() as memory_stores,
    ):
        one, two = first_stores.build(config), second_stores.build(config)
        reference = memory_stores.build({"kind": "memory", "options": {"namespace": namespace}})
        assert one.offers_summaries  # the fold runs in every append below
        calls: list[tuple[SessionStore, dict[str, Any], list[dict[str, Any]]]] = [
            (one, KEY, [entry("a1"), entry("a2", kind="assistant")]),
            (one, KEY, [entry("a3")]),  # at its own head: one statement
            (two, KEY, [entry("b1"), entry("b2", uuid=False)]),  # moves one's head
            (one, KEY, [entry("a4"), entry("a5")]),  # falls back, then at its head again
            (one, KEY, [entry("a6"), entry("a3")]),  # a3 is stored: only a6 goes in
            (one, KEY, [entry("a6")]),  # a retry: nothing changes
            (one, KEY, [entry("a7", uuid=False)]),
            (one, SUB, [entry("s1")]),
            (one, SUB, [entry("s2")]),
            (two, SUB, [entry("s3")]),
            (one, SUB, [entry("s4"), entry("s1")]),
        ]
        for store, key, batch in calls:
            await store.append(key, batch)
            await reference.append(key, batch)
            await same_as_reference(store, reference)

        # Deleted by the other store, then appended to again by the one that remembers it.
        await two.delete(KEY)
        await reference.delete(KEY)
        await one.append(KEY, [entry("c1")])
        await reference.append(KEY, [entry("c1")])
        await one.append(KEY, [entry("c2")])
        await reference.append(KEY, [entry("c2")])
        await same_as_reference(one, reference)
        await same_as_reference(two, reference)
