"""kode's agent stores against the raw drivers doing the same work, on every engine.

The workload (every number can be changed on the command line)::

    1. save_messages with one new message: an agent holding 10 messages saves its
       list with one more, 20 times, one message more each time; then an agent
       holding 1,000 does the same (kode writes only the new row, and says so);
    2. read_events of an agent's 10,000 events (appended untimed by 20 writers, the
       three channels interleaved), read whole 3 times;
    3. the agent lock taken and given back 100 times:
       ``async with store.acquire_agent_lock(agent_id, timeout=5): pass``.

Each baseline (``agent_baselines.py``) is the simplest correct driver code for the
same logical work: one row appended in a transaction; one ordered read of the events;
a lease taken and compare-deleted. Run it with::

    uv run python benchmarks/agent_store.py --kinds memory,sqlite
    uv run nox -s bench    # with the session-store family, one table

An engine whose plugin has no agent store yet gets a "not available" row.
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
    concurrently,
    kode_defaults,
    main,
    median,
    positive,
)
from agent_baselines import RAW_AGENT_BASELINES, Event, RawAgents

import kode_core
from kode_core.testing.agents.samples import conversation, timeline

NAMESPACE = "bench"
EVENTS_AGENT = "agent-timeline"
LOCK_AGENT = "agent-locked"
LOCK_TIMEOUT = 5
FILL_STREAMS = 20  # concurrent writers while the timeline is filled
FILL_BATCH = 1_000  # events per untimed baseline insert
CHANNELS = ("progress", "control", "monitor")


# -- kode's store, built as a server would ---------------------------------------------


@contextlib.asynccontextmanager
async def kode_agent_store(kind: str, where: str) -> AsyncIterator[kode_core.ExtendedAgentStore]:
    """kode's agent store for ``kind`` through the builder map; NotAvailable if it has none."""
    defaults, registry = kode_defaults(kind, where)
    try:
        stores = kode_core.agent_stores({kind: defaults}, registry=registry)
    except kode_core.ConfigurationError as exc:  # the plugin does not register "agents"
        raise NotAvailable(str(exc)) from exc
    async with stores:
        try:
            store = stores.build({"kind": kind, "options": {"namespace": NAMESPACE}})
        except kode_core.NotSupportedError as exc:
            raise NotAvailable(str(exc)) from exc
        yield store


async def kode_lock_round_trip(store: kode_core.ExtendedAgentStore, agent: str) -> None:
    async with store.acquire_agent_lock(agent, timeout=LOCK_TIMEOUT):
        pass


async def kode_read_events(store: kode_core.ExtendedAgentStore, agent: str) -> list[Any]:
    return [entry async for entry in store.read_events(agent)]


# -- the steps of the workload ---------------------------------------------------------


@attrs.frozen
class AgentWorkload:
    short_conversation: int
    long_conversation: int
    timed_saves: int
    events: int
    event_reads: int
    lock_rounds: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> AgentWorkload:
        return cls(**{field.name: getattr(args, field.name) for field in attrs.fields(cls)})


async def warm_up(kode: kode_core.ExtendedAgentStore, raw: RawAgents) -> None:
    """Connect, create schemas and load scripts before anything is timed."""
    messages = conversation(3, "warm")
    await kode.save_messages("warm", messages)
    await raw.append_messages("warm", 0, [m.to_dict() for m in messages])
    await kode_read_events(kode, "warm")
    await raw.read_events("warm")
    await kode_lock_round_trip(kode, "warm")
    await raw.lock_round_trip("warm")


async def save_one_more(
    kind: str, kode: kode_core.ExtendedAgentStore, raw: RawAgents, size: int, saves: int
) -> Result:
    """Step 1 at ``size``: each timed save is the stored list and one new message."""
    agent = f"agent-{size}-messages"
    messages = conversation(size + saves, agent)
    docs = [m.to_dict() for m in messages]
    await kode.save_messages(agent, messages[:size])
    await raw.append_messages(agent, 0, docs[:size])
    written = (await kode.metrics()).rows_written
    kode_times, raw_times = await alternating(
        [
            functools.partial(kode.save_messages, agent, messages[: n + 1])
            for n in range(size, size + saves)
        ],
        [
            functools.partial(raw.append_messages, agent, n, docs[n : n + 1])
            for n in range(size, size + saves)
        ],
    )
    written = (await kode.metrics()).rows_written - written
    stored = (len(await kode.load_messages(agent)), await raw.count_messages(agent))
    if stored != (size + saves,) * 2:
        raise RuntimeError(f"{kind}: {size + saves} messages saved, kode and raw hold {stored}")
    return Result(
        kind,
        f"save_messages +1 at {size:,} messages",
        "saves",
        Sample(tuple(kode_times), saves),
        Sample(tuple(raw_times), saves),
        notes={"kode_rows_written_per_save": written / saves},
    )


async def analyze(url: str) -> None:
    """Gather PostgreSQL's statistics of the filled tables, as autovacuum does within a
    minute of so many inserts. Before that, the planner takes a never-analyzed table for
    a few dozen rows and sorts all of an agent's later events for each page of
    read_events (measured: ~5 ms a page at 10,000 events, against ~0.5 ms by the index)."""
    import psycopg  # only the pg run needs it

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("ANALYZE")


async def read_timeline(
    kind: str,
    kode: kode_core.ExtendedAgentStore,
    raw: RawAgents,
    work: AgentWorkload,
    where: str,
) -> Result:
    """Step 2: fill the timeline (untimed), then read it whole, kode and raw alternating."""
    entries = [timeline(seq, CHANNELS[seq % len(CHANNELS)]) for seq in range(work.events)]
    await concurrently(
        [
            [
                functools.partial(kode.append_event, EVENTS_AGENT, e)
                for e in entries[i::FILL_STREAMS]
            ]
            for i in range(FILL_STREAMS)
        ]
    )
    events: list[Event] = [(e.bookmark.seq, e.event.channel.value, e.to_dict()) for e in entries]
    for first in range(0, len(events), FILL_BATCH):
        await raw.append_events(EVENTS_AGENT, events[first : first + FILL_BATCH])
    if kind == "pg":
        await analyze(where)
    read = functools.partial(kode_read_events, kode, EVENTS_AGENT)
    kode_read, raw_read = await read(), await raw.read_events(EVENTS_AGENT)
    if [e.to_dict() for e in kode_read] != [entry for _, _, entry in events] or len(
        raw_read
    ) != len(events):
        raise RuntimeError(f"{kind}: kode read {len(kode_read)} events, raw {len(raw_read)}")
    kode_times, raw_times = await alternating(
        [read] * work.event_reads,
        [functools.partial(raw.read_events, EVENTS_AGENT)] * work.event_reads,
    )
    units = work.events * work.event_reads
    return Result(
        kind,
        f"read_events ({work.events:,} events)",
        "entries",
        Sample(tuple(kode_times), units),
        Sample(tuple(raw_times), units),
    )


async def lock_round_trips(
    kind: str, kode: kode_core.ExtendedAgentStore, raw: RawAgents, rounds: int
) -> Result:
    """Step 3: take and give back the agent's lock, uncontended, kode and raw alternating."""
    kode_times, raw_times = await alternating(
        [functools.partial(kode_lock_round_trip, kode, LOCK_AGENT)] * rounds,
        [functools.partial(raw.lock_round_trip, LOCK_AGENT)] * rounds,
    )
    return Result(
        kind,
        "lock acquire + release",
        "round trips",
        Sample(tuple(kode_times), rounds),
        Sample(tuple(raw_times), rounds),
    )


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """Every agent-store row for one engine, kode and its baseline side by side."""
    work = AgentWorkload.of(args)
    async with kode_agent_store(kind, where) as kode, RAW_AGENT_BASELINES[kind](where) as raw:
        await warm_up(kode, raw)
        short = await save_one_more(kind, kode, raw, work.short_conversation, work.timed_saves)
        long = await save_one_more(kind, kode, raw, work.long_conversation, work.timed_saves)
        events = await read_timeline(kind, kode, raw, work, where)
        lock = await lock_round_trips(kind, kode, raw, work.lock_rounds)
        growth = median(long.kode.latencies) / median(short.kode.latencies)
        aim = f"save_messages +1 p50 at {work.long_conversation:,}"
        aim += f" / at {work.short_conversation:,}"
        targets = [Target(kind, aim, growth, 1.2, at_least=False)]
        return EngineReport([short, long, events, lock], targets, raw.engine)


# -- command line ----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    option = functools.partial(parser.add_argument, type=positive)
    option("--short-conversation", default=10, help="messages before the first saves (10)")
    option("--long-conversation", default=1_000, help="messages before the second saves (1,000)")
    option("--timed-saves", default=20, help="timed saves of one more message at each (20)")
    option("--events", default=10_000, help="events in the timeline read_events reads (10,000)")
    option("--event-reads", default=3, help="timed reads of the whole timeline (3)")
    option("--lock-rounds", default=100, help="timed lock acquire/release round trips (100)")


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return attrs.asdict(AgentWorkload.of(args))


AGENT_STORE = Family("agent_store", add_arguments, parameters, bench)

if __name__ == "__main__":
    main([AGENT_STORE], "benchmarks/agent_store.py")
