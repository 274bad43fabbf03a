"""kode's session stores against the raw drivers doing the same work, on every engine.

The workload (every number can be changed on the command line)::

    1. 20 sessions appended concurrently, 50 appends of 5 entries each (~800 B each);
    2. each of those sessions loaded whole;
    3. one session grown to 10,000 entries: 20 appends of 5 timed near 100 entries
       and 20 near 10,000;
    4. list_sessions over 10,000 sessions;
    5. the 20 batches of step 3 appended again (a retry): kode stores nothing new.

For each engine (memory, sqlite, pg, mongo, redis) the servers are started as the
tests start them; kode's store is built through the public API, and the baseline
(``baselines.py``) is plain driver code. Run it with::

    uv run python benchmarks/session_store.py --kinds sqlite,pg --list-sessions 1000
    uv run nox -s bench -- --kinds redis

benchmarks/README.md says what each baseline does and holds the latest figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, TypeVar

import attrs
from _harness import (
    EngineReport,
    Family,
    Result,
    Sample,
    Target,
    alternating,
    concurrently,
    kode_defaults,
    main,
    median,
    positive,
    round_robin,
)
from baselines import RAW_BASELINES, Entry, encode

import kode_core

PROJECT = "bench"
NAMESPACE = "bench"
LONG_SESSION = "long"
GROW_BATCH = 500  # entries per untimed append while the long session grows
FILL_STREAMS = 20  # concurrent writers while the listing's sessions are created
WARMUP_CALLS = 3


class Appender(Protocol):
    """What the concurrent appends and the loads do to a store: kode's, a baseline's,
    or a peer's (``session_store_peers.py``)."""

    async def append(self, session: str, batch: list[Entry]) -> None: ...
    async def load(self, session: str) -> list[Entry]: ...
    async def count(self, session: str) -> int: ...


class Subject(Appender, Protocol):
    """What the whole workload does to a store, kode's or a baseline's."""

    async def list_sessions(self) -> list[str]: ...


# -- entries ---------------------------------------------------------------------------

_FILLER = "The fixture starts the server before its port is free, so retry the bind. " * 20
_EPOCH = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.timezone.utc)


def transcript_batch(session: str, first: int, size: int, entry_bytes: int) -> list[Entry]:
    """``size`` entries shaped like Claude Agent SDK transcript lines, ~``entry_bytes`` each."""
    batch: list[Entry] = []
    for seq in range(first, first + size):
        role = "user" if seq % 2 == 0 else "assistant"
        stamp = _EPOCH + datetime.timedelta(seconds=seq)
        entry: Entry = {
            "type": role,
            "uuid": str(uuid.uuid4()),  # random, as real ones are: index inserts scatter
            "parentUuid": batch[-1]["uuid"] if batch else None,
            "sessionId": session,
            "timestamp": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "cwd": "/home/dev/project",
            "isSidechain": False,
            "message": {"role": role, "content": [{"type": "text", "text": ""}]},
        }
        room = entry_bytes - len(encode(entry))
        entry["message"]["content"][0]["text"] = _FILLER[: max(room, 0)]
        batch.append(entry)
    return batch


# -- kode's store, built as a server would ---------------------------------------------


@attrs.define
class KodeSubject:
    store: kode_core.SessionStore

    @staticmethod
    def _key(session: str) -> dict[str, str]:
        return {"project_key": PROJECT, "session_id": session}

    async def append(self, session: str, batch: list[Entry]) -> None:
        await self.store.append(self._key(session), batch)

    async def load(self, session: str) -> list[Entry]:
        return await self.store.load(self._key(session)) or []

    async def list_sessions(self) -> list[str]:
        return [item["session_id"] for item in await self.store.list_sessions(PROJECT)]

    async def count(self, session: str) -> int:
        return await self.store.count_entries(self._key(session))


#: kind -> the server-side option that sizes kode's connection pool.
POOL_OPTIONS = {
    "sqlite": "max_connections",  # readers; kode-sqlite has one writer connection
    "pg": "max_pool_size",
    "mongo": "max_pool_size",
    "redis": "max_connections",
}


@contextlib.asynccontextmanager
async def kode_subject(
    kind: str, where: str, pool_size: int | None = None
) -> AsyncIterator[KodeSubject]:
    """kode's store for ``kind`` through the public API, with explicit plugin loading;
    its pool holds ``pool_size`` connections (the backend's default if None)."""
    defaults, registry = kode_defaults(kind, where)
    if pool_size is not None and kind in POOL_OPTIONS:
        defaults[POOL_OPTIONS[kind]] = pool_size
    async with kode_core.session_stores({kind: defaults}, registry=registry) as stores:
        store = stores.build({"kind": kind, "options": {"namespace": NAMESPACE}})
        if not store.offers_summaries:
            raise RuntimeError("install claude-agent-sdk: kode folds summaries in every append")
        yield KodeSubject(store)


# -- the steps of the workload ---------------------------------------------------------


_Work = TypeVar("_Work", bound="AppendWorkload")


@attrs.frozen
class AppendWorkload:
    """Steps 1 and 2: what the peers' benchmark runs too."""

    sessions: int
    appends: int
    batch: int
    entry_bytes: int

    @classmethod
    def of(cls: type[_Work], args: argparse.Namespace) -> _Work:
        return cls(**{field.name: getattr(args, field.name) for field in attrs.fields(cls)})

    def entries(self, session: str, first: int, size: int) -> list[Entry]:
        return transcript_batch(session, first, size, self.entry_bytes)

    def concurrent_sessions(self) -> list[str]:
        """The sessions of step 1, appended at once."""
        return [f"c-{i:03d}" for i in range(self.sessions)]


@attrs.frozen
class Workload(AppendWorkload):
    long_entries: int
    near: int
    timed_appends: int
    list_sessions: int
    list_calls: int


async def warm_up_appends(subjects: Sequence[Appender], work: AppendWorkload) -> None:
    """Connect (as many connections as the concurrent step will use), create schemas and
    load scripts before anything is timed."""
    names = [f"w-{i:03d}" for i in range(work.sessions)]
    for subject in subjects:
        await concurrently(
            [
                [
                    functools.partial(subject.append, name, work.entries(name, i, work.batch))
                    for i in range(WARMUP_CALLS)
                ]
                for name in names
            ]
        )
        await subject.load(names[0])


async def warm_up(subjects: Sequence[Subject], work: Workload) -> None:
    """Warm up the appends and loads (:func:`warm_up_appends`) and the listing."""
    await warm_up_appends(subjects, work)
    for subject in subjects:
        await subject.list_sessions()


def append_operation(work: AppendWorkload) -> str:
    return f"append {work.batch}, {work.sessions} sessions at once"


async def append_samples(
    subjects: Sequence[Appender], work: AppendWorkload, names: Sequence[str]
) -> list[Sample]:
    """Step 1 for each subject in turn: a writer per session of ``names``, all at once,
    each appending ``appends`` batches to its session. Returns a sample per subject."""
    streams = [
        [work.entries(name, n * work.batch, work.batch) for n in range(work.appends)]
        for name in names
    ]
    units = len(names) * work.appends * work.batch
    samples: list[Sample] = []
    for subject in subjects:
        calls = [
            [functools.partial(subject.append, name, batch) for batch in stream]
            for name, stream in zip(names, streams, strict=True)
        ]
        latencies, wall = await concurrently(calls)
        samples.append(Sample(tuple(latencies), units, wall))
    return samples


async def load_samples(
    kind: str, subjects: Sequence[Appender], names: Sequence[str], labels: Sequence[str]
) -> list[Sample]:
    """Step 2: load each session whole, one at a time, the subjects taking turns; every
    subject must return what the first (``labels[0]``) returns."""
    times = await round_robin(
        [[functools.partial(subject.load, name) for name in names] for subject in subjects]
    )
    held = 0
    for name in names:
        first, *others = [await subject.load(name) for subject in subjects]
        for label, loaded in zip(labels[1:], others, strict=True):
            if loaded != first:
                raise RuntimeError(f"{kind}: {labels[0]} and {label} disagree on session {name}")
        held += len(first)
    return [Sample(tuple(seconds), held) for seconds in times]


def load_operation(sample: Sample, sessions: int) -> str:
    return f"load whole ({sample.units // sessions} entries)"


async def concurrent_appends(
    kind: str, kode: Subject, raw: Subject, work: Workload
) -> tuple[Result, list[str]]:
    """Step 1: ``sessions`` writers at once, each ``appends`` batches to its own session."""
    names = work.concurrent_sessions()
    kode_sample, raw_sample = await append_samples((kode, raw), work, names)
    return Result(kind, append_operation(work), "entries", kode_sample, raw_sample), names


async def whole_loads(kind: str, kode: Subject, raw: Subject, names: Sequence[str]) -> Result:
    """Step 2: load each session whole, one at a time; kode and raw must agree."""
    kode_sample, raw_sample = await load_samples(kind, (kode, raw), names, ("kode", "the baseline"))
    operation = load_operation(kode_sample, len(names))
    return Result(kind, operation, "entries", kode_sample, raw_sample)


async def timed_appends(
    kind: str, kode: Subject, raw: Subject, work: Workload, batches: Sequence[list[Entry]]
) -> Result:
    """Appends of ``batches`` to the long session, one at a time, ABBA."""
    held = await kode.count(LONG_SESSION)
    kode_times, raw_times = await alternating(
        [functools.partial(kode.append, LONG_SESSION, batch) for batch in batches],
        [functools.partial(raw.append, LONG_SESSION, batch) for batch in batches],
    )
    units = sum(len(batch) for batch in batches)
    return Result(
        kind,
        f"append {work.batch} at {held:,} entries",
        "entries",
        Sample(tuple(kode_times), units),
        Sample(tuple(raw_times), units),
    )


async def grow(subjects: Sequence[Subject], target: int, work: Workload) -> None:
    """Untimed: append large batches to the long session until it holds ``target``."""
    held = await subjects[0].count(LONG_SESSION)
    while held < target:
        batch = work.entries(LONG_SESSION, held, min(GROW_BATCH, target - held))
        for subject in subjects:
            await subject.append(LONG_SESSION, batch)
        held += len(batch)


async def long_session(
    kind: str, kode: Subject, raw: Subject, work: Workload
) -> tuple[Result, Result, list[list[Entry]]]:
    """Step 3: append latency near ``near`` and near ``long_entries`` entries."""
    rows = []
    batches: list[list[Entry]] = []
    for size in (work.near, work.long_entries):
        await grow((kode, raw), size, work)
        batches = [
            work.entries(LONG_SESSION, size + n * work.batch, work.batch)
            for n in range(work.timed_appends)
        ]
        rows.append(await timed_appends(kind, kode, raw, work, batches))
    return rows[0], rows[1], batches


async def listing(kind: str, kode: Subject, raw: Subject, work: Workload) -> Result:
    """Step 4: fill the project to ``list_sessions`` sessions (untimed), then list it."""
    held = len(await kode.list_sessions())
    missing = [f"f-{i:06d}" for i in range(max(0, work.list_sessions - held))]
    for subject in (kode, raw):
        streams = [
            [
                functools.partial(subject.append, name, work.entries(name, 0, 1))
                for name in missing[i::FILL_STREAMS]
            ]
            for i in range(FILL_STREAMS)
        ]
        await concurrently(streams)
    kode_listed, raw_listed = await kode.list_sessions(), await raw.list_sessions()
    if sorted(kode_listed) != sorted(raw_listed):
        raise RuntimeError(f"{kind}: kode lists {len(kode_listed)}, raw {len(raw_listed)}")
    kode_times, raw_times = await alternating(
        [kode.list_sessions] * work.list_calls, [raw.list_sessions] * work.list_calls
    )
    units = len(kode_listed) * work.list_calls
    return Result(
        kind,
        f"list_sessions ({len(kode_listed):,} sessions)",
        "sessions",
        Sample(tuple(kode_times), units),
        Sample(tuple(raw_times), units),
    )


async def retry(
    kind: str, kode: Subject, raw: Subject, work: Workload, batches: Sequence[list[Entry]]
) -> Result:
    """Step 5: append the already stored ``batches`` again, counting what each stores."""
    before = [await subject.count(LONG_SESSION) for subject in (kode, raw)]
    row = await timed_appends(kind, kode, raw, work, batches)
    after = [await subject.count(LONG_SESSION) for subject in (kode, raw)]
    kode_new, raw_new = (b - a for a, b in zip(before, after, strict=True))
    return attrs.evolve(
        row,
        operation=f"retry of a stored append {work.batch} (at {before[0]:,})",
        notes={"kode_stored": kode_new, "raw_stored": raw_new},
    )


async def bench(kind: str, where: str, args: argparse.Namespace) -> EngineReport:
    """Every row of the workload for one engine, kode and its baseline side by side."""
    work = Workload.of(args)
    async with kode_subject(kind, where) as kode, RAW_BASELINES[kind](where, None) as raw:
        await warm_up((kode, raw), work)
        appends, names = await concurrent_appends(kind, kode, raw, work)
        loads = await whole_loads(kind, kode, raw, names)
        small, large, batches = await long_session(kind, kode, raw, work)
        listed = await listing(kind, kode, raw, work)
        retried = await retry(kind, kode, raw, work, batches)
        growth = median(large.kode.latencies) / median(small.kode.latencies)
        retry_cost = median(retried.kode.latencies) / median(large.kode.latencies)
        targets = [
            Target(kind, "append kode/raw", appends.ratio, 0.8, at_least=True),
            Target(kind, "load kode/raw", loads.ratio, 0.8, at_least=True),
            Target(
                kind,
                f"append p50 at {work.long_entries:,} / at {work.near:,}",
                growth,
                1.2,
                at_least=False,
            ),
            Target(kind, "retry p50 / fresh p50", retry_cost, 1.0, at_least=False),
        ]
        rows = [appends, loads, small, large, listed, retried]
        return EngineReport(rows, targets, raw.engine)


# -- command line ----------------------------------------------------------------------


def add_append_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of steps 1 and 2 (:class:`AppendWorkload`)."""
    option = functools.partial(parser.add_argument, type=positive)
    option("--sessions", default=20, help="sessions appended concurrently (20)")
    option("--appends", default=50, help="appends per concurrent session (50)")
    option("--batch", default=5, help="entries per append (5)")
    option("--entry-bytes", default=800, help="JSON size of one entry (800)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_append_arguments(parser)
    option = functools.partial(parser.add_argument, type=positive)
    option("--long-entries", default=10_000, help="length of the long session (10,000)")
    option("--near", default=100, help="where the long session's first timing is (100)")
    option("--timed-appends", default=20, help="timed appends at each length (20)")
    option("--list-sessions", default=10_000, help="sessions listed by list_sessions (10,000)")
    option("--list-calls", default=5, help="timed list_sessions calls (5)")


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return attrs.asdict(Workload.of(args))


SESSION_STORE = Family("session_store", add_arguments, parameters, bench)

if __name__ == "__main__":
    main([SESSION_STORE], "benchmarks/session_store.py")
