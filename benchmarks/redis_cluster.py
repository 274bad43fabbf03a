"""kode-redis's appends on a 3-master Redis Cluster against the same appends on one server.

Not kode against a raw driver: both sides are kode's session store, on servers started
for the run from the same ``redis-server`` binary; the "kode" columns are the cluster
side, the "raw" columns the single server, and the ratio is what the cluster costs (or
gains) on this machine. The append workload is step 1 of ``session_store.py``::

    uv run python benchmarks/redis_cluster.py --sessions 20 --appends 50

benchmarks/README.md ("Redis Cluster") holds the latest figures.
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
import kode_redis._plugin
from kode_core.testing import redis_cluster_server, redis_server

ROUNDS = 2  # each side goes first once


@contextlib.asynccontextmanager
async def kode_at(url: str, namespace: str, **defaults: Any) -> AsyncIterator[KodeSubject]:
    """kode's session store at ``url`` in ``namespace``, built through the public API."""
    registry = kode_core.load_registry([kode_redis._plugin], autoload=False)
    options = {"url": url, **defaults}
    async with kode_core.session_stores({"redis": options}, registry=registry) as stores:
        yield KodeSubject(stores.build({"kind": "redis", "options": {"namespace": namespace}}))


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
    """The row, on a single Redis server and a 3-master cluster of this run's own."""
    del where  # servers of our own: the cluster needs its nodes
    if kind != "redis":
        raise NotAvailable("Redis only")
    work = AppendWorkload.of(args)
    operation = append_operation(work)
    with redis_server() as server, redis_cluster_server(masters=3) as cluster:
        async with (
            kode_at(cluster.url, "clustered") as clustered,
            kode_at(server.url, "single") as single,
        ):
            spread, alone = await compare(clustered, single, work)
    rows = [
        Result(
            "redis",
            f"{operation}: Redis Cluster (3 masters) / one server",
            "entries",
            spread,
            alone,
            {"masters": 3, "replicas": 0},
        )
    ]
    targets = [Target("redis", "append cluster/single", rows[0].ratio, 0.7, at_least=True)]
    return EngineReport(rows, targets, "Redis 7.0 from Debian: one server vs 3 cluster masters")


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return attrs.asdict(AppendWorkload.of(args))


REDIS_CLUSTER = Family("redis_cluster", add_append_arguments, parameters, bench)


def _argv(argv: Sequence[str]) -> list[str]:
    """``argv``, on redis alone and into its own results file unless it says otherwise."""
    given = list(argv)
    for option, value in (
        ("--kinds", "redis"),
        ("--json", "benchmarks/results_redis_cluster.json"),
    ):
        if not any(arg.startswith(option) for arg in given):
            given = [option, value, *given]
    return given


if __name__ == "__main__":
    main([REDIS_CLUSTER], "benchmarks/redis_cluster.py", _argv(sys.argv[1:]))
