"""kode's deployment stores against the raw drivers doing the same work, on every engine.

The workload (every number can be changed on the command line)::

    1. 50 instances started (untimed), each serving 10 of 100 function names;
    2. 100 heartbeats, one instance after another;
    3. 100 find_deployment calls, one function after another: the live instance
       serving it with the newest heartbeat.

Each baseline (``deployment_baselines.py``) is the simplest correct driver code for the
same logical work. Run it with::

    uv run python benchmarks/deployment_store.py --kinds memory,sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import attrs
from _harness import (
    EngineReport,
    Family,
    NotAvailable,
    Result,
    Sample,
    alternating,
    kode_defaults,
    main,
    positive,
)
from deployment_baselines import RAW_DEPLOYMENT_BASELINES, RawDeployments

import kode_core

NAMESPACE = "bench"
TTL_MS = 30_000  # kode's default heartbeat_ttl


@contextlib.asynccontextmanager
async def kode_deployment_store(kind: str, where: str) -> AsyncIterator[kode_core.DeploymentStore]:
    """kode's deployment store for ``kind`` through the builder map; NotAvailable if none."""
    defaults, registry = kode_defaults(kind, where)
    try:
        stores = kode_core.deployment_stores({kind: defaults}, registry=registry)
    except kode_core.ConfigurationError as exc:  # the plugin does not register "deployments"
        raise NotAvailable(str(exc)) from exc
    async with stores:
        yield stores.build({"kind": kind, "options": {"namespace": NAMESPACE}})


@attrs.frozen
class DeploymentWorkload:
    instances: int
    functions: int
    function_pool: int
    rounds: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> DeploymentWorkload:
        return cls(**{field.name: getattr(args, field.name) for field in attrs.fields(cls)})

    def served(self, instance: int) -> list[str]:
        return sorted(
            {f"fn-{(instance * 7 + k) % self.function_pool}" for k in range(self.functions)}
        )


async def find_on_raw(raw: RawDeployments, function: str) -> str | None:
    return await raw.find(function, kode_core.now_ms() - TTL_MS)


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """The deployment-store rows for one engine, kode and its baseline side by side."""
    work = DeploymentWorkload.of(args)
    async with (
        kode_deployment_store(kind, where) as kode,
        RAW_DEPLOYMENT_BASELINES[kind](where) as raw,
    ):
        ids = [f"instance-{i}" for i in range(work.instances)]
        for i, deployment in enumerate(ids):
            endpoint = f"http://10.0.0.{i}:8000"
            await kode.start(deployment, endpoint, work.served(i))
            await raw.start(deployment, endpoint, work.served(i), kode_core.now_ms())
        beats = [ids[n % len(ids)] for n in range(work.rounds)]
        kode_beats, raw_beats = await alternating(
            [functools.partial(kode.heartbeat, d) for d in beats],
            [functools.partial(_raw_beat, raw, d) for d in beats],
        )
        functions = [f"fn-{n % work.function_pool}" for n in range(work.rounds)]
        for function in functions[:5]:  # both sides find an instance serving it
            if (await find_on_raw(raw, function)) is None:
                raise RuntimeError(f"{kind}: the baseline finds nothing serving {function}")
            found = await kode.find_deployment(function)
            if function not in found.functions:
                raise RuntimeError(f"{kind}: kode found {found} for {function}")
        kode_finds, raw_finds = await alternating(
            [functools.partial(kode.find_deployment, f) for f in functions],
            [functools.partial(find_on_raw, raw, f) for f in functions],
        )
        rows = [
            Result(
                kind,
                f"heartbeat ({work.instances} instances x {work.functions} functions)",
                "heartbeats",
                Sample(tuple(kode_beats), work.rounds),
                Sample(tuple(raw_beats), work.rounds),
            ),
            Result(
                kind,
                f"find_deployment ({work.function_pool} functions)",
                "lookups",
                Sample(tuple(kode_finds), work.rounds),
                Sample(tuple(raw_finds), work.rounds),
            ),
        ]
        return EngineReport(rows, [], raw.engine)


async def _raw_beat(raw: RawDeployments, deployment: str) -> None:
    await raw.heartbeat(deployment, kode_core.now_ms())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    option = functools.partial(parser.add_argument, type=positive)
    option("--instances", default=50, help="instances started before the timed calls (50)")
    option("--functions", default=10, help="functions each instance serves (10)")
    option("--function-pool", default=100, help="distinct function names (100)")
    option("--rounds", default=100, help="timed heartbeats, then timed lookups (100 each)")


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return attrs.asdict(DeploymentWorkload.of(args))


DEPLOYMENT_STORE = Family("deployment_store", add_arguments, parameters, bench)

if __name__ == "__main__":
    main([DEPLOYMENT_STORE], "benchmarks/deployment_store.py")
