"""The pg thread and run stores beyond the kit: their lookups use indexes."""

from __future__ import annotations

import psycopg
import pytest

from kode_core.testing import StoreFactory, unique_namespace
from kode_pg._schema import schema_name

pytestmark = pytest.mark.anyio


def _plan(url: str, statement: str, *params: object) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table: ask what the index allows
        rows = conn.execute(f"EXPLAIN {statement}", params).fetchall()  # type: ignore[arg-type]
    return "\n".join(row[0] for row in rows)


async def test_find_run_by_tool_call_id_and_the_claim_use_the_approval_key(
    pg_factory: StoreFactory, pg_url: str
) -> None:
    namespace = unique_namespace("px")
    async with pg_factory.open_family("runs") as runs:
        store = runs.build(pg_factory.descriptor(namespace))
        await store.migrate()
    schema = schema_name(namespace)
    lookup = _plan(
        pg_url,
        f'SELECT run_id FROM "{schema}".run_approvals WHERE tool_call_id = %s AND decision IS NULL',
        "call-1",
    )
    assert "run_approvals_pkey" in lookup
    assert "Seq Scan" not in lookup
    runs_of_thread = _plan(
        pg_url, f'SELECT run_id FROM "{schema}".run_runs WHERE thread_id = %s', "t"
    )
    assert "run_runs_by_thread" in runs_of_thread


async def test_a_page_of_messages_reads_the_thread_index_backwards(
    pg_factory: StoreFactory, pg_url: str
) -> None:
    namespace = unique_namespace("px")
    async with pg_factory.open_family("threads") as threads:
        await threads.build(pg_factory.descriptor(namespace)).migrate()
    plan = _plan(
        pg_url,
        f'SELECT body FROM "{schema_name(namespace)}".thread_messages'
        " WHERE thread_id = %s AND seq < %s ORDER BY seq DESC LIMIT 50",
        "t",
        100,
    )
    assert "Index Scan Backward using thread_messages_pkey" in plan
