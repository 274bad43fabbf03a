"""kode's session stores against the raw drivers doing the same work, in the same run.

For each kind (sqlite, pg, mongo, redis) this starts a real server with the test
launchers, builds a kode store through the public API, and times appends (to a fresh
session, then to one that already holds ``--entries``), paged reads near the start and
the end of that long session, and a tail read. A plain raw-driver baseline
(``baselines.py``) does the same work alongside, call for call; the table gives both
and their ratio::

    uv run python benchmarks/session_store.py --kinds sqlite,pg

benchmarks/README.md says what each baseline does and holds the latest figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import importlib
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from importlib.metadata import version

import anyio
import attrs
from baselines import RAW_BASELINES, Entry, Reader, Subject, encode

import kode_core
from kode_core.testing import _servers

KINDS = ("sqlite", "pg", "mongo", "redis")
PROJECT = "bench"
NAMESPACE = "bench"
LONG_SESSION = "long"
WARMUP_SESSION = "warmup"
ENTRY_BYTES = 500  # JSON size of one generated transcript entry
GROW_BATCH = 1000  # entries per untimed append while the long session grows
PROGRESS_EVERY = 5000
PAGE_LIMIT = 1000
TAIL_COUNT = 50
WARMUP_CALLS = 3
# SecantusDB is a Python re-implementation (~1-2 ms per operation): fewer calls keep
# the default run within minutes. Its absolute figures say nothing about a real MongoDB.
FEWER_CALLS = {"mongo": 4}
MIN_CALLS = 10

Call = Callable[[], Awaitable[object]]

# -- workload ---------------------------------------------------------------------------

_FILLER = "The fixture starts the server before its port is free, so retry the bind. " * 8
_EPOCH = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.timezone.utc)


def transcript_batch(session: str, first: int, size: int) -> list[Entry]:
    """``size`` entries shaped like Claude Agent SDK transcript lines, ~ENTRY_BYTES each."""
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
        room = ENTRY_BYTES - len(encode(entry))
        entry["message"]["content"][0]["text"] = _FILLER[: max(room, 0)]
        batch.append(entry)
    return batch


# -- kode's store, built as a server would ------------------------------------------------


@attrs.define
class KodeSubject:
    store: kode_core.SessionStore

    @staticmethod
    def _key(session: str) -> dict[str, str]:
        return {"project_key": PROJECT, "session_id": session}

    async def append(self, session: str, batch: list[Entry]) -> None:
        await self.store.append(self._key(session), batch)

    async def count(self, session: str) -> int:
        return await self.store.count_entries(self._key(session))

    async def page_reader(self, session: str, skip: int, limit: int) -> Reader:
        # No uuid repeats here, so positions run 1..count and ``after`` is the skip;
        # check_reads confirms the pages against the baseline's.
        async def read() -> list[Entry]:
            page = await self.store.load_page(self._key(session), after=skip, limit=limit)
            return [stored.entry for stored in page.entries]

        return read

    async def load_tail(self, session: str, count: int) -> list[Entry]:
        return await self.store.load_tail(self._key(session), count)


@contextlib.asynccontextmanager
async def kode_subject(kind: str, where: str) -> AsyncIterator[KodeSubject]:
    """kode's store for ``kind`` through the public API, with explicit plugin loading."""
    defaults = {"path": os.path.join(where, "kode.db")} if kind == "sqlite" else {"url": where}
    registry = kode_core.load_registry(
        [importlib.import_module(f"kode_{kind}._plugin")], autoload=False
    )
    async with kode_core.session_stores({kind: defaults}, registry=registry) as stores:
        yield KodeSubject(stores.build({"kind": kind, "options": {"namespace": NAMESPACE}}))


@contextlib.contextmanager
def engine_location(kind: str) -> Iterator[str]:
    """A server started for this run (its URL), or for sqlite a fresh directory."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kode-bench-") as tmp:
            yield tmp
        return
    launchers = {
        "pg": _servers.postgres_server,
        "mongo": _servers.mongo_server,
        "redis": _servers.redis_server,
    }
    with launchers[kind]() as server:
        yield server.url


# -- timing -------------------------------------------------------------------------------


@attrs.frozen
class Timing:
    median_ms: float
    p95_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timing:
        ms = sorted(1000 * s for s in seconds)
        return cls(statistics.median(ms), ms[math.ceil(0.95 * len(ms)) - 1])  # nearest rank


@attrs.frozen
class Row:
    operation: str
    kode: Timing
    raw: Timing


async def time_pair(kode_calls: Sequence[Call], raw_calls: Sequence[Call]) -> tuple[Timing, Timing]:
    """Time each call, alternating kode and raw (ABBA) so background load hits both alike."""
    kode_times: list[float] = []
    raw_times: list[float] = []
    for i, (kode_call, raw_call) in enumerate(zip(kode_calls, raw_calls, strict=True)):
        turns = [(kode_call, kode_times), (raw_call, raw_times)]
        for call, times in turns if i % 2 == 0 else turns[::-1]:
            start = time.perf_counter()
            await call()
            times.append(time.perf_counter() - start)
    return Timing.of(kode_times), Timing.of(raw_times)


async def append_row(kode: Subject, raw: Subject, calls: int, size: int) -> Row:
    """Time ``calls`` appends of ``size`` entries to the long session, as it stands."""
    held = await kode.count(LONG_SESSION)
    batches = [transcript_batch(LONG_SESSION, held + i * size, size) for i in range(calls)]
    timings = await time_pair(
        [functools.partial(kode.append, LONG_SESSION, batch) for batch in batches],
        [functools.partial(raw.append, LONG_SESSION, batch) for batch in batches],
    )
    return Row(f"append {size} at {held:,}-{held + calls * size:,} entries", *timings)


async def read_rows(kode: Subject, raw: Subject, calls: int, total: int) -> list[Row]:
    """Time paged reads near the start and the end of the long session, and a tail read."""
    rows = []
    for where, skip in (("start", 0), ("end", total - PAGE_LIMIT)):
        kode_read = await kode.page_reader(LONG_SESSION, skip, PAGE_LIMIT)
        raw_read = await raw.page_reader(LONG_SESSION, skip, PAGE_LIMIT)
        timings = await time_pair([kode_read] * calls, [raw_read] * calls)
        rows.append(Row(f"load_page {PAGE_LIMIT} after {skip:,} (near {where})", *timings))
    kode_tail = functools.partial(kode.load_tail, LONG_SESSION, TAIL_COUNT)
    raw_tail = functools.partial(raw.load_tail, LONG_SESSION, TAIL_COUNT)
    rows.append(
        Row(f"load_tail {TAIL_COUNT}", *await time_pair([kode_tail] * calls, [raw_tail] * calls))
    )
    return rows


# -- untimed steps ------------------------------------------------------------------------


async def warm_up(subjects: Sequence[Subject], size: int) -> None:
    """Connect, create schemas and load scripts before anything is timed."""
    for subject in subjects:
        for i in range(WARMUP_CALLS):
            await subject.append(WARMUP_SESSION, transcript_batch(WARMUP_SESSION, i * size, size))
        await (await subject.page_reader(WARMUP_SESSION, 0, size))()
        await subject.load_tail(WARMUP_SESSION, 1)


async def grow(kind: str, subjects: Sequence[Subject], target: int) -> None:
    """Append large batches to the long session until it holds ``target`` entries."""
    held = await subjects[0].count(LONG_SESSION)
    while held < target:
        batch = transcript_batch(LONG_SESSION, held, min(GROW_BATCH, target - held))
        for subject in subjects:
            await subject.append(LONG_SESSION, batch)
        passed, held = held // PROGRESS_EVERY, held + len(batch)
        if held // PROGRESS_EVERY > passed or held == target:
            print(f"  {kind}: long session at {held:,} of {target:,} entries", file=sys.stderr)


async def check_reads(kode: Subject, raw: Subject, total: int) -> None:
    """Fail unless kode and the baseline hold and return the same entries."""
    counts = [await subject.count(LONG_SESSION) for subject in (kode, raw)]
    pages = []
    for skip in (0, total - PAGE_LIMIT):
        for subject in (kode, raw):
            pages.append(await (await subject.page_reader(LONG_SESSION, skip, PAGE_LIMIT))())
    tails = [await subject.load_tail(LONG_SESSION, TAIL_COUNT) for subject in (kode, raw)]
    if (
        counts != [total, total]
        or pages[0] != pages[1]
        or pages[2] != pages[3]
        or len(pages[0]) != PAGE_LIMIT
        or tails[0] != tails[1]
        or pages[2][-TAIL_COUNT:] != tails[0]
    ):
        raise RuntimeError(f"kode and the baseline disagree on the long session (counts {counts})")


# -- one kind, end to end -----------------------------------------------------------------


@attrs.frozen
class KindReport:
    kind: str
    engine: str
    calls: int
    total: int
    rows: list[Row]


async def bench_kind(kind: str, where: str, config: Config) -> KindReport:
    """Every timed row for one kind, kode and its baseline on the same engine."""
    calls = config.calls(kind)
    async with kode_subject(kind, where) as kode, RAW_BASELINES[kind](where) as raw:
        await warm_up((kode, raw), config.batch)
        rows = [await append_row(kode, raw, calls, config.batch)]
        await grow(kind, (kode, raw), config.entries)
        rows.append(await append_row(kode, raw, calls, config.batch))
        total = await kode.count(LONG_SESSION)
        await check_reads(kode, raw, total)
        rows += await read_rows(kode, raw, calls, total)
        return KindReport(kind, raw.engine, calls, total, rows)


# -- report -------------------------------------------------------------------------------

_COLUMNS = ("kode med", "kode p95", "raw med", "raw p95", "kode/raw")


def format_report(report: KindReport) -> str:
    """The table of one kind: milliseconds per call, and what grew with the session."""
    width = max(len(row.operation) for row in report.rows)
    lines = [
        f"== {report.kind}: {report.engine}",
        f"   {report.calls} timed calls per row, long session ends at {report.total:,} entries",
        f"{'operation (ms per call)':<{width}}" + "".join(f"{c:>10}" for c in _COLUMNS),
    ]
    for row in report.rows:
        figures = (row.kode.median_ms, row.kode.p95_ms, row.raw.median_ms, row.raw.p95_ms)
        ratio = row.kode.median_ms / row.raw.median_ms
        lines.append(
            f"{row.operation:<{width}}"
            + "".join(f"{f:>10.3f}" for f in figures)
            + f"{ratio:>9.2f}x"
        )
    start, long = report.rows[0], report.rows[1]
    lines.append(
        f"append cost, long session / fresh session (median): "
        f"kode {long.kode.median_ms / start.kode.median_ms:.2f}x, "
        f"raw {long.raw.median_ms / start.raw.median_ms:.2f}x"
    )
    return "\n".join(lines)


def environment() -> str:
    """What the figures were measured with."""
    drivers = ", ".join(f"{name} {version(name)}" for name in ("psycopg", "pymongo", "redis"))
    sample = len(encode(transcript_batch(LONG_SESSION, 0, 1)[0]))
    return (
        f"kode {kode_core.__version__}, Python {platform.python_version()}, {drivers}; "
        f"{os.cpu_count()} cores; entries of {sample} B of JSON"
    )


# -- command line -------------------------------------------------------------------------


@attrs.frozen
class Config:
    kinds: tuple[str, ...]
    entries: int
    batch: int
    iterations: int

    def calls(self, kind: str) -> int:
        """Timed calls per row for ``kind``."""
        return max(MIN_CALLS, self.iterations // FEWER_CALLS.get(kind, 1))

    def command(self) -> str:
        """The command line that repeats this run."""
        options = {"--kinds": ",".join(self.kinds), "--entries": self.entries}
        options |= {"--batch": self.batch, "--iterations": self.iterations}
        script = ["uv", "run", "python", "benchmarks/session_store.py"]
        return shlex.join(script + [str(part) for item in options.items() for part in item])


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"kinds are among {','.join(KINDS)}; got {text!r}")
    return kinds


def _at_least(floor: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < floor:
            raise argparse.ArgumentTypeError(f"must be at least {floor}, got {value}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kinds", type=_kinds, default=KINDS, help="comma-separated kinds")
    parser.add_argument(
        "--entries", type=_at_least(PAGE_LIMIT), default=20_000, help="long session length N"
    )
    parser.add_argument("--batch", type=_at_least(1), default=10, help="entries per timed append B")
    parser.add_argument(
        "--iterations",
        type=_at_least(MIN_CALLS),
        default=200,
        help=f"timed calls per row (mongo: a quarter, at least {MIN_CALLS})",
    )
    args = parser.parse_args(argv)
    return Config(args.kinds, args.entries, args.batch, args.iterations)


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(argv)
    print(f"{datetime.date.today()}: {environment()}\n", flush=True)
    for kind in config.kinds:
        with engine_location(kind) as where:
            report = anyio.run(bench_kind, kind, where, config)
        print(format_report(report) + "\n", flush=True)
    print(f"Reproduce: {config.command()}")


if __name__ == "__main__":
    main()
