"""The pool's checkout check: no round trip for a quiet idle connection, and a connection
the server closed while it sat in the pool is replaced before anyone uses it."""

from __future__ import annotations

from typing import Any

import anyio
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from kode_core.testing import StoreFactory, unique_namespace

pytestmark = pytest.mark.anyio

KEY = {"project_key": "proj", "session_id": "sess"}
PLUGINS = ("kode_pg._plugin",)


async def test_quiet_connections_need_no_check_and_closed_ones_are_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = f"kode-check-{unique_namespace()}"
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}application_name={app}"
    checks = 0
    real_check = AsyncConnectionPool.check_connection

    async def counted(conn: Any) -> None:
        nonlocal checks
        checks += 1
        await real_check(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counted))
    # Two connections: psycopg_pool backs off between failed checks in one checkout,
    # so more dead connections would only make this test slower (and the old check too).
    factory = StoreFactory("pg", {"url": url, "max_pool_size": 2}, PLUGINS)
    async with factory.open() as stores:
        store = stores.build({"kind": "pg", "options": {"namespace": unique_namespace()}})

        async def append(i: int) -> None:
            await store.append(KEY, [{"type": "t", "uuid": f"u{i}"}])

        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(append, i)
        for i in range(8, 20):
            await append(i)
        assert checks == 0  # every checkout found a quiet socket

        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as admin:
            cur = await admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (app,),
            )
            row = await cur.fetchone()
            assert row is not None
            assert row[0] >= 1
        await anyio.sleep(0.2)  # the servers' goodbyes reach the client sockets

        await append(20)  # on a replaced connection: no error reaches the caller
        assert checks >= 1
        assert await store.count_entries(KEY) == 21
