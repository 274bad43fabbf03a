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
import sys

from _harness import EngineReport, Family, NotAvailable, Result, Target, main
from session_store import AppendWorkload, add_append_arguments, append_operation
from shapes import compare, kode_at, own_argv, parameters

import kode_redis._plugin
from kode_core.testing import redis_cluster_server, redis_server


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """The row, on a single Redis server and a 3-master cluster of this run's own."""
    del where  # servers of our own: the cluster needs its nodes
    if kind != "redis":
        raise NotAvailable("Redis only")
    work = AppendWorkload.of(args)
    operation = append_operation(work)
    with redis_server() as server, redis_cluster_server(masters=3) as cluster:
        async with (
            kode_at("redis", kode_redis._plugin, cluster.url, "clustered") as clustered,
            kode_at("redis", kode_redis._plugin, server.url, "single") as single,
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


REDIS_CLUSTER = Family("redis_cluster", add_append_arguments, parameters, bench)


if __name__ == "__main__":
    main(
        [REDIS_CLUSTER],
        "benchmarks/redis_cluster.py",
        own_argv(sys.argv[1:], "redis", "benchmarks/results_redis_cluster.json"),
    )
