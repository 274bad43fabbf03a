"""kode-pg's appends through PgBouncer (transaction mode) against the same appends direct.

Not kode against a raw driver: both sides are kode's session store, on the same
PostgreSQL server in the same run; the "kode" columns are the pooled side, the "raw"
columns the direct one, and the ratio is what the pooler costs. A second row compares,
direct, psycopg preparing statements (``prepare_threshold=5``) with kode's default of
never preparing. The append workload is step 1 of ``session_store.py``::

    uv run python benchmarks/pg_pooler.py --sessions 20 --appends 50

benchmarks/README.md ("PostgreSQL behind PgBouncer") holds the latest figures.
"""

from __future__ import annotations

import argparse
import sys

from _harness import EngineReport, Family, NotAvailable, Result, Target, main
from session_store import AppendWorkload, add_append_arguments, append_operation
from shapes import compare, kode_at, own_argv, parameters

import kode_pg._plugin
from kode_core.testing import pgbouncer_server, postgres_server


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """The two rows, on a PostgreSQL server and a PgBouncer of this run's own."""
    del where  # a server of our own: PgBouncer needs it as a TestServer
    if kind != "pg":
        raise NotAvailable("PostgreSQL only")
    work = AppendWorkload.of(args)
    operation = append_operation(work)
    with postgres_server() as server, pgbouncer_server(server, pool_size=20) as bouncer:
        async with (
            kode_at("pg", kode_pg._plugin, bouncer.url, "pooled") as pooled,
            kode_at("pg", kode_pg._plugin, server.url, "direct") as direct,
        ):
            through, straight = await compare(pooled, direct, work)
        async with (
            kode_at("pg", kode_pg._plugin, server.url, "prepared", prepare_threshold=5) as prepared,
            kode_at("pg", kode_pg._plugin, server.url, "unprepared") as unprepared,
        ):
            with_prepare, without = await compare(prepared, unprepared, work)
    rows = [
        Result(
            "pg",
            f"{operation}: PgBouncer / direct",
            "entries",
            through,
            straight,
            {"pool_mode": "transaction", "default_pool_size": 20},
        ),
        Result(
            "pg",
            f"{operation}: prepared (5) / unprepared (kode's default)",
            "entries",
            with_prepare,
            without,
        ),
    ]
    targets = [Target("pg", "append PgBouncer/direct", rows[0].ratio, 0.8, at_least=True)]
    return EngineReport(rows, targets, "PostgreSQL 15 and PgBouncer 1.18 from Debian, fsync off")


PG_POOLER = Family("pg_pooler", add_append_arguments, parameters, bench)


if __name__ == "__main__":
    main(
        [PG_POOLER],
        "benchmarks/pg_pooler.py",
        own_argv(sys.argv[1:], "pg", "benchmarks/results_pg_pooler.json"),
    )
