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
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import attrs
from _harness import EngineReport, Family, NotAvailable, Result, Sample, Target, main
from session_store import (
    AppendWorkload,
    KodeSubject,
    add_append_arguments,
    append_operation,
    append_samples,
    warm_up_appends,
)

import kode_core
import kode_pg._plugin
from kode_core.testing import pgbouncer_server, postgres_server

ROUNDS = 2  # each side goes first once


@contextlib.asynccontextmanager
async def kode_at(url: str, namespace: str, **defaults: Any) -> AsyncIterator[KodeSubject]:
    """kode's session store at ``url`` in ``namespace``, built through the public API."""
    registry = kode_core.load_registry([kode_pg._plugin], autoload=False)
    options = {"url": url, **defaults}
    async with kode_core.session_stores({"pg": options}, registry=registry) as stores:
        yield KodeSubject(stores.build({"kind": "pg", "options": {"namespace": namespace}}))


async def compare(
    first: KodeSubject, second: KodeSubject, work: AppendWorkload
) -> tuple[Sample, Sample]:
    """Step 1 of the session workload on both subjects, ``ROUNDS`` times, each side going
    first in turn, on fresh sessions each round."""
    await warm_up_appends((first, second), work)
    runs: list[list[Sample]] = [[], []]
    for round_ in range(ROUNDS):
        names = [f"r{round_}-{name}" for name in work.concurrent_sessions()]
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        subjects = [(first, second)[side] for side in order]
        for side, sample in zip(order, await append_samples(subjects, work, names), strict=True):
            runs[side].append(sample)
    return Sample.combined(runs[0]), Sample.combined(runs[1])


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """The two rows, on a PostgreSQL server and a PgBouncer of this run's own."""
    del where  # a server of our own: PgBouncer needs it as a TestServer
    if kind != "pg":
        raise NotAvailable("PostgreSQL only")
    work = AppendWorkload.of(args)
    operation = append_operation(work)
    with postgres_server() as server, pgbouncer_server(server, pool_size=20) as bouncer:
        async with (
            kode_at(bouncer.url, "pooled") as pooled,
            kode_at(server.url, "direct") as direct,
        ):
            through, straight = await compare(pooled, direct, work)
        async with (
            kode_at(server.url, "prepared", prepare_threshold=5) as prepared,
            kode_at(server.url, "unprepared") as unprepared,
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


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return attrs.asdict(AppendWorkload.of(args))


PG_POOLER = Family("pg_pooler", add_append_arguments, parameters, bench)


def _argv(argv: Sequence[str]) -> list[str]:
    """``argv``, on pg alone and into its own results file unless it says otherwise."""
    given = list(argv)
    for option, value in (("--kinds", "pg"), ("--json", "benchmarks/results_pg_pooler.json")):
        if not any(arg.startswith(option) for arg in given):
            given = [option, value, *given]
    return given


if __name__ == "__main__":
    main([PG_POOLER], "benchmarks/pg_pooler.py", _argv(sys.argv[1:]))
