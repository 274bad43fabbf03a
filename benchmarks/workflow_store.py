"""The workflow store's hot calls, kode against a raw-driver baseline, on each engine.

uv run python benchmarks/workflow_store.py --kinds memory,sqlite --steps 100

Rows: ``claim_step`` (a pending step taken, one per call; kode also writes the attempt
history row and the running time) and ``update_run_state`` (one key merged, a fresh key
per call). kode and raw alternate call by call.
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
from workflow_baselines import RAW_WORKFLOW_BASELINES, RawWorkflows

import kode_core

NAMESPACE = "bench"
RUN = "bench-run"


@contextlib.asynccontextmanager
async def kode_workflow_store(kind: str, where: str) -> AsyncIterator[kode_core.WorkflowStore]:
    """kode's workflow store for ``kind`` through the builder map; NotAvailable if none."""
    defaults, registry = kode_defaults(kind, where)
    try:
        stores = kode_core.workflow_stores({kind: defaults}, registry=registry)
    except kode_core.ConfigurationError as exc:  # the plugin does not register "workflows"
        raise NotAvailable(str(exc)) from exc
    async with stores:
        yield stores.build({"kind": kind, "options": {"namespace": NAMESPACE}})


async def kode_claim(store: kode_core.WorkflowStore, name: str) -> None:
    if not (await store.claim_step(RUN, name)).won:
        raise RuntimeError(f"kode lost an uncontended claim of {name!r}")


async def raw_claim(raw: RawWorkflows, name: str) -> None:
    if not await raw.claim(RUN, name):
        raise RuntimeError(f"the baseline lost an uncontended claim of {name!r}")


@attrs.frozen
class WorkflowWorkload:
    steps: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> WorkflowWorkload:
        return cls(args.steps)


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """The claim_step and update_run_state rows for one engine."""
    work = WorkflowWorkload.of(args)
    names = [f"step-{i:05d}" for i in range(work.steps)]
    async with kode_workflow_store(kind, where) as kode, RAW_WORKFLOW_BASELINES[kind](where) as raw:
        await kode.create_run("bench", run_id=RUN)  # also creates the schema: untimed
        for name in names:
            await kode.insert_step(RUN, name)
        await raw.add_steps(RUN, names)
        kode_times, raw_times = await alternating(
            [functools.partial(kode_claim, kode, name) for name in names],
            [functools.partial(raw_claim, raw, name) for name in names],
        )
        claims = Result(
            kind, "claim_step", "claims", Sample(tuple(kode_times), work.steps),
            Sample(tuple(raw_times), work.steps),
        )  # fmt: skip
        value = '{"cursor": 1}'
        kode_times, raw_times = await alternating(
            [functools.partial(kode.update_run_state, RUN, n, {"cursor": 1}) for n in names],
            [functools.partial(raw.put_state, RUN, n, value) for n in names],
        )
        state = Result(
            kind, "update_run_state", "keys", Sample(tuple(kode_times), work.steps),
            Sample(tuple(raw_times), work.steps),
        )  # fmt: skip
        return EngineReport([claims, state], [], raw.engine)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--steps", type=positive, default=200, help="timed claims and state keys (200)"
    )


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return attrs.asdict(WorkflowWorkload.of(args))


WORKFLOW_STORE = Family("workflow_store", add_arguments, parameters, bench)

if __name__ == "__main__":
    main([WORKFLOW_STORE], "benchmarks/workflow_store.py")
