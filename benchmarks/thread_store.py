"""kode's thread and run stores against the raw drivers doing the same work, on every engine.

The workload (every number can be changed on the command line)::

    1. save_messages: a thread filled (untimed) to 10,000 messages, then 20 timed saves
       of a batch of 5 new messages;
    2. get_messages(last_n=50) on that thread, 50 times;
    3. resolve_approval: 200 runs each suspended on one approval (created untimed),
       then each approval claimed once, timed.

Each baseline (``thread_baselines.py``) is the simplest correct driver code for the
same logical work. Run it with::

    uv run python benchmarks/thread_store.py --kinds memory,sqlite
    uv run nox -s bench    # with the other families, one table
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
    Target,
    alternating,
    kode_defaults,
    main,
    positive,
)
from thread_baselines import RAW_THREAD_BASELINES, RawThreads

import kode_core
from kode_core.runs import Run

NAMESPACE = "bench"
THREAD = "thread-long"
FILL_BATCH = 1_000
PAGE = 50


def message(number: int) -> dict[str, Any]:
    """A message of about 300 bytes of JSON, user and assistant in turn."""
    role = "assistant" if number % 2 else "user"
    return {"id": f"m{number:06d}", "role": role, "content": f"turn {number} " + "x" * 240}


@contextlib.asynccontextmanager
async def kode_stores(
    kind: str, where: str
) -> AsyncIterator[tuple[kode_core.ThreadStore, kode_core.RunStore]]:
    """kode's thread and run stores for ``kind`` from one pool; NotAvailable if it has none."""
    defaults, registry = kode_defaults(kind, where)
    async with kode_core.BackendPool({kind: defaults}, registry=registry) as pool:
        if not pool.provides(kind, "threads") or not pool.provides(kind, "runs"):
            raise NotAvailable(f"kind {kind!r} provides no thread and run stores")
        descriptor = {"kind": kind, "options": {"namespace": NAMESPACE}}
        threads = kode_core.thread_stores(pool).build(descriptor)
        yield threads, kode_core.run_stores(pool).build(descriptor)


@attrs.frozen
class ThreadWorkload:
    thread_messages: int
    thread_saves: int
    save_batch: int
    page_reads: int
    approvals: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> ThreadWorkload:
        return cls(**{field.name: getattr(args, field.name) for field in attrs.fields(cls)})


async def save_and_read(
    kind: str, threads: kode_core.ThreadStore, raw: RawThreads, work: ThreadWorkload
) -> list[Result]:
    """Steps 1 and 2: fill the thread, time batches of new messages, then the last page."""
    await threads.create_thread("bench-user", thread_id=THREAD)
    size = work.thread_messages
    for first in range(0, size, FILL_BATCH):
        batch = [message(n) for n in range(first, min(size, first + FILL_BATCH))]
        await threads.save_messages(THREAD, batch)
        await raw.append(THREAD, first, batch)
    batches = [
        [message(size + i * work.save_batch + j) for j in range(work.save_batch)]
        for i in range(work.thread_saves)
    ]
    firsts = [size + i * work.save_batch for i in range(work.thread_saves)]
    kode_times, raw_times = await alternating(
        [functools.partial(threads.save_messages, THREAD, batch) for batch in batches],
        [
            functools.partial(raw.append, THREAD, first, batch)
            for first, batch in zip(firsts, batches, strict=True)
        ],
    )
    saved = work.thread_saves * work.save_batch
    kode_page = await threads.get_messages(THREAD, last_n=PAGE)
    raw_page = await raw.last(THREAD, PAGE)
    if [m.id for m in kode_page] != [m["id"] for m in raw_page]:
        raise RuntimeError(f"{kind}: kode and raw disagree on the last {PAGE} messages")
    read_kode, read_raw = await alternating(
        [functools.partial(threads.get_messages, THREAD, last_n=PAGE)] * work.page_reads,
        [functools.partial(raw.last, THREAD, PAGE)] * work.page_reads,
    )
    total = size + saved
    return [
        Result(
            kind,
            f"save_messages {work.save_batch} at {size:,} messages",
            "messages",
            Sample(tuple(kode_times), saved),
            Sample(tuple(raw_times), saved),
        ),
        Result(
            kind,
            f"get_messages(last_n={PAGE}) of {total:,}",
            "messages",
            Sample(tuple(read_kode), PAGE * work.page_reads),
            Sample(tuple(read_raw), PAGE * work.page_reads),
        ),
    ]


async def claim_approvals(
    kind: str, runs: kode_core.RunStore, raw: RawThreads, count: int
) -> Result:
    """Step 3: runs suspended on one approval each (untimed), then each claimed, timed."""
    ids = [f"call-{i}" for i in range(count)]
    for i, tool_call_id in enumerate(ids):
        approval = {"type": "tool-call", "tool_call_id": tool_call_id, "tool_name": "t"}
        run = {
            "run_id": f"run-{i}",
            "agent_name": "bench",
            "thread_id": THREAD,
            "resource_id": "bench-user",
            "status": "suspended",
            "suspend_reason": "approval",
            "pending_approvals": [approval],
        }
        await runs.create_run(Run.from_dict(run))
    await raw.add_approvals(ids)
    kode_times, raw_times = await alternating(
        [functools.partial(runs.resolve_approval, i, "approved") for i in ids],
        [functools.partial(raw.claim, i) for i in ids],
    )
    if await runs.resolve_approval(ids[0], "approved") or await raw.claim(ids[0]):
        raise RuntimeError(f"{kind}: an approval was claimed twice")
    return Result(
        kind,
        "resolve_approval (one claim)",
        "claims",
        Sample(tuple(kode_times), count),
        Sample(tuple(raw_times), count),
    )


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """Every thread-store row for one engine, kode and its baseline side by side."""
    work = ThreadWorkload.of(args)
    async with (
        kode_stores(kind, where) as (threads, runs),
        RAW_THREAD_BASELINES[kind](where) as raw,
    ):
        rows = await save_and_read(kind, threads, raw, work)
        rows.append(await claim_approvals(kind, runs, raw, work.approvals))
        page = rows[1]
        targets = [Target(kind, "get_messages(last_n=50) kode/raw", page.ratio, 0.5, at_least=True)]
        return EngineReport(rows, targets, raw.engine)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    option = functools.partial(parser.add_argument, type=positive)
    option("--thread-messages", default=10_000, help="messages in the thread (10,000)")
    option("--thread-saves", default=20, help="timed save_messages calls (20)")
    option("--save-batch", default=5, help="new messages per timed save (5)")
    option("--page-reads", default=50, help="timed get_messages(last_n=50) calls (50)")
    option("--approvals", default=200, help="approvals created, then claimed once each (200)")


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return attrs.asdict(ThreadWorkload.of(args))


THREAD_STORE = Family("thread_store", add_arguments, parameters, bench)

if __name__ == "__main__":
    main([THREAD_STORE], "benchmarks/thread_store.py")
