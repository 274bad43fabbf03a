"""What every kode benchmark shares: engines, timing, the table and the JSON results file.

A service family (session stores, agent stores) is one module with one entry point.
It describes itself as a :class:`Family` (its command-line options and an async
``bench`` that returns :class:`Result` rows for one engine) and calls :func:`main`
with it; ``benchmarks/__main__.py`` calls :func:`main` with every family. :func:`main`
starts each engine the way the tests do (``kode_core.testing.servers``; sqlite gets a
temporary directory, memory nothing), runs every family given on it, prints one table
and writes one JSON file. A family that an engine does not offer raises
:class:`NotAvailable` and gets a "not available" row; one that fails gets a "failed"
row (the traceback goes to stderr and the run exits with status 1 at the end).

Every figure is a pair: kode's store and a raw-driver baseline doing the same logical
work on the same engine in the same run. The ratio is kode's throughput over the
baseline's, so 1.00 is parity and 0.50 means kode does half as much per second.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import importlib
import json
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import anyio
import attrs

import kode_core
from kode_core.testing import servers

KINDS = ("memory", "sqlite", "pg", "mongo", "redis")
DEFAULT_JSON = Path(__file__).parent / "results.json"
_DISTRIBUTIONS = (
    "kode-core",
    "kode-sqlite",
    "kode-pg",
    "kode-mongo",
    "kode-redis",
    "psycopg",
    "psycopg-pool",
    "pymongo",
    "redis",
    "secantusdb",
    "claude-agent-sdk",
)

Call = Callable[[], Awaitable[object]]


# -- figures ---------------------------------------------------------------------------


@attrs.frozen
class Sample:
    """One side's measurement of one operation: per-call latencies and the units done.

    ``wall`` is the elapsed time of the whole operation when its calls overlapped
    (concurrent appends); otherwise the calls ran one at a time and their sum is used.
    """

    latencies: tuple[float, ...]
    units: int
    wall: float | None = None

    @property
    def seconds(self) -> float:
        return self.wall if self.wall is not None else math.fsum(self.latencies)

    @property
    def rate(self) -> float:
        """Units (entries, or sessions for a listing) per second."""
        return self.units / self.seconds

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile in milliseconds (p99 of 20 calls is the slowest)."""
        ms = sorted(1000 * s for s in self.latencies)
        return ms[max(0, math.ceil(q / 100 * len(ms)) - 1)]

    @classmethod
    def combined(cls, samples: Sequence[Sample]) -> Sample:
        """One sample of several runs of the same operation: every call, every unit,
        and the runs' summed time."""
        latencies = tuple(seconds for sample in samples for seconds in sample.latencies)
        units = sum(sample.units for sample in samples)
        if all(sample.wall is not None for sample in samples):
            return cls(latencies, units, math.fsum(sample.seconds for sample in samples))
        return cls(latencies, units)

    def as_json(self) -> dict[str, float | int]:
        return {
            "units_per_s": round(self.rate, 1),
            "p50_ms": round(self.percentile_ms(50), 3),
            "p99_ms": round(self.percentile_ms(99), 3),
            "calls": len(self.latencies),
            "units": self.units,
            "seconds": round(self.seconds, 4),
        }


@attrs.frozen
class Result:
    """One row: an operation on one engine, kode against the raw baseline."""

    engine: str
    operation: str
    unit: str  # what ``Sample.units`` counts: "entries" or "sessions"
    kode: Sample
    raw: Sample
    notes: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def ratio(self) -> float:
        """kode's throughput over the baseline's: 1.00 is parity."""
        return self.kode.rate / self.raw.rate

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "operation": self.operation,
            "unit": self.unit,
            "kode": self.kode.as_json(),
            "raw": self.raw.as_json(),
            "ratio": round(self.ratio, 3),
            **({"notes": dict(self.notes)} if self.notes else {}),
        }


@attrs.frozen
class Target:
    """An aim the figures are compared with (reported, never asserted)."""

    engine: str
    name: str
    value: float
    limit: float
    at_least: bool  # True: met when value >= limit

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "target": self.name,
            "value": round(self.value, 3),
            "limit": self.limit,
            "met": self.met,
        }


@attrs.frozen
class Missing:
    """A family that has no rows on an engine: not offered there, or failed."""

    engine: str
    family: str
    reason: str
    failed: bool

    def as_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


class NotAvailable(Exception):
    """Raised by a family's ``bench`` when the engine does not offer what it measures."""


@attrs.frozen
class EngineReport:
    """What a family measured on one engine."""

    results: list[Result]
    targets: list[Target]
    detail: str  # server version and durability settings


# -- timing ----------------------------------------------------------------------------


def settle_heap() -> None:
    """Collect, then move every live object out of the collector's reach.

    The harness holds every batch of every store it drives (hundreds of thousands of
    dicts). Left in the collector's oldest generation, each full collection walks
    them all (100-250 ms here) and lands on whichever call happens to allocate at
    that moment: one such pause decided a load ratio. Called before each timed
    step, for every store alike; what the calls themselves allocate is still
    collected as usual.
    """
    gc.collect()
    gc.freeze()


async def timed(call: Call) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def round_robin(sides: Sequence[Sequence[Call]]) -> list[list[float]]:
    """Time calls one at a time, the sides taking turns: call ``i`` of every side, the
    order rotated by one each round, so each side runs first, second, ... equally often
    and background load hits all alike. Returns each side's seconds per call."""
    times: list[list[float]] = [[] for _ in sides]
    settle_heap()
    for i, calls in enumerate(zip(*sides, strict=True)):
        turn = i % len(sides)
        for side in [*range(turn, len(sides)), *range(turn)]:
            times[side].append(await timed(calls[side]))
    return times


async def alternating(
    kode_calls: Sequence[Call], raw_calls: Sequence[Call]
) -> tuple[list[float], list[float]]:
    """Time calls one at a time, kode and raw alternating (ABBA) so load hits both alike."""
    kode_times, raw_times = await round_robin([kode_calls, raw_calls])
    return kode_times, raw_times


async def concurrently(streams: Sequence[Sequence[Call]]) -> tuple[list[float], float]:
    """Run each stream's calls in order, all streams at once: (per-call seconds, wall)."""
    latencies: list[float] = []

    async def run(calls: Sequence[Call]) -> None:
        for call in calls:
            latencies.append(await timed(call))

    settle_heap()
    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for calls in streams:
            tg.start_soon(run, calls)
    return latencies, time.perf_counter() - start


# -- engines ---------------------------------------------------------------------------


@contextlib.contextmanager
def engine_location(kind: str) -> Iterator[str]:
    """A server started for this run, as the tests start it (its URL); for sqlite a
    fresh directory; for memory nothing."""
    if kind == "memory":
        yield ""
        return
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kode-bench-") as tmp:
            yield tmp
        return
    launchers = {
        "pg": servers.postgres_server,
        "mongo": servers.mongo_server,
        "redis": servers.redis_server,
    }
    with launchers[kind]() as server:
        yield server.url


def kode_defaults(kind: str, where: str) -> tuple[dict[str, Any], kode_core.Registry]:
    """The server-side defaults of ``kind`` at ``where``, and a registry that loads its
    plugin explicitly (no entry-point autoload): what a builder map is made from."""
    defaults: dict[str, Any] = {}
    plugins = []
    if kind != "memory":
        defaults = {"path": os.path.join(where, "kode.db")} if kind == "sqlite" else {"url": where}
        plugins.append(importlib.import_module(f"kode_{kind}._plugin"))
    return defaults, kode_core.load_registry(plugins, autoload=False)


# -- families and the command line ------------------------------------------------------


@attrs.frozen
class Family:
    """One service family's benchmark: its options and its rows for one engine.

    ``bench(kind, where, args)`` gets the engine's URL (sqlite: a directory; memory:
    ``""``) and the parsed arguments, and returns its :class:`EngineReport`.
    ``parameters(args)`` is what the JSON file records as this family's parameters.
    """

    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    parameters: Callable[[argparse.Namespace], dict[str, Any]]
    bench: Callable[[str, str, argparse.Namespace], Awaitable[EngineReport]]


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"kinds are among {','.join(KINDS)}; got {text!r}")
    return kinds


def positive(text: str) -> int:
    """An argparse type: an int of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def base_parser(description: str | None, default_json: Path) -> argparse.ArgumentParser:
    """A command line with the options every benchmark has: ``--kinds`` and ``--json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--kinds", type=_kinds, default=KINDS, help="comma-separated engines")
    parser.add_argument("--json", type=Path, default=default_json, help="results file to write")
    return parser


def parse_args(families: Sequence[Family], argv: Sequence[str] | None) -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None, DEFAULT_JSON)
    for family in families:
        family.add_arguments(parser)
    return parser.parse_args(argv)


def main(families: Sequence[Family], script: str, argv: Sequence[str] | None = None) -> None:
    """Run ``families`` on every chosen engine; print the table; write the JSON file."""
    args = parse_args(families, argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["uv", "run", "python", script, *argv])
    print(f"{datetime.date.today()}: {environment_line()}", flush=True)
    rows: list[Result | Missing] = []
    targets: list[Target] = []
    details: dict[str, str] = {}
    for kind in args.kinds:
        with engine_location(kind) as where:
            for family in families:
                print(f"  {family.name} on {kind}...", file=sys.stderr, flush=True)
                try:
                    report = anyio.run(family.bench, kind, where, args)
                except NotAvailable as exc:
                    rows.append(Missing(kind, family.name, f"not available: {exc}", False))
                    continue
                except Exception as exc:  # one family's failure must not lose the others'
                    traceback.print_exc()
                    failure = f"failed: {type(exc).__name__}: {exc}"
                    rows.append(Missing(kind, family.name, failure, True))
                    continue
                rows += report.results
                targets += report.targets
                details.setdefault(kind, report.detail)
    print()
    print(format_table(rows, details))
    print()
    print(format_targets(targets))
    print(f"\nReproduce: {command}")
    document = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "parameters": {family.name: family.parameters(args) for family in families},
        "versions": versions() | {"engines": details},
        "machine": machine(),
        "results": [row.as_json() for row in rows if isinstance(row, Result)],
        "targets": [target.as_json() for target in targets],
        "missing": [row.as_json() for row in rows if isinstance(row, Missing)],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"Results: {args.json}")
    if any(row.failed for row in rows if isinstance(row, Missing)):
        sys.exit(1)


# -- report ----------------------------------------------------------------------------

_HEADERS = (
    "engine",
    "operation",
    "kode /s",
    "kode p50",
    "kode p99",
    "raw /s",
    "raw p50",
    "raw p99",
    "kode/raw",
)


def _cells(row: Result | Missing) -> tuple[str, ...]:
    if isinstance(row, Missing):
        return (row.engine, f"{row.family}: {row.reason}", *["-"] * (len(_HEADERS) - 2))
    return (
        row.engine,
        row.operation,
        f"{row.kode.rate:,.0f}",
        f"{row.kode.percentile_ms(50):.2f}",
        f"{row.kode.percentile_ms(99):.2f}",
        f"{row.raw.rate:,.0f}",
        f"{row.raw.percentile_ms(50):.2f}",
        f"{row.raw.percentile_ms(99):.2f}",
        f"{row.ratio:.2f}",
    )


def _units_note(results: Sequence[Result]) -> str:
    """What /s counts: entries, unless a row's unit says otherwise (named by operation)."""
    others: dict[str, list[str]] = {}
    for r in results:
        if r.unit != "entries":
            verbs = others.setdefault(r.unit, [])
            if r.operation.split()[0] not in verbs:
                verbs.append(r.operation.split()[0])
    extra = "; ".join(f"{unit} for {', '.join(verbs)}" for unit, verbs in others.items())
    return f"/s: entries per second{f' ({extra})' if extra else ''}; p50, p99 in ms."


def markdown_table(
    headers: Sequence[str], cells: Sequence[Sequence[str]], text_columns: int = 2
) -> list[str]:
    """The lines of a Markdown table, padded to line up: the first ``text_columns``
    columns left-aligned, the figures after them right-aligned."""
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.ljust(w) if i < text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|".join(
        "-" * (w + 1) + (":" if i >= text_columns else "-") for i, w in enumerate(widths)
    )
    return [line(headers), f"|{rule}|", *(line(c) for c in cells)]


def format_table(rows: Sequence[Result | Missing], details: Mapping[str, str]) -> str:
    """One Markdown table of every row: units per second, p50/p99 in ms, the ratio."""
    lines = markdown_table(_HEADERS, [_cells(row) for row in rows])
    lines += ["", _units_note([row for row in rows if isinstance(row, Result)])]
    lines += [f"{kind}: {detail}" for kind, detail in details.items()]
    return "\n".join(lines)


def format_targets(targets: Sequence[Target]) -> str:
    """The aims, each with its figure and whether it is met."""
    lines = ["| engine | target | figure | met |", "|---|---|---:|---|"]
    for t in targets:
        sign = ">=" if t.at_least else "<="
        lines.append(
            f"| {t.engine} | {t.name} {sign} {t.limit:g} | {t.value:.3f} | "
            f"{'yes' if t.met else 'no'} |"
        )
    return "\n".join(lines)


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def versions(extra: Sequence[str] = ()) -> dict[str, Any]:
    """Python and every distribution the figures depend on (and ``extra`` ones)."""
    found = {name: _version(name) for name in (*_DISTRIBUTIONS, *extra)}
    return {"python": platform.python_version()} | {k: v for k, v in found.items() if v}


def machine() -> dict[str, Any]:
    """Where the figures were measured (no host name)."""
    model = None
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.partition(":")[2].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "platform": platform.platform(),
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in load] if load else None,
    }


def environment_line() -> str:
    found = versions()
    drivers = ", ".join(f"{n} {found[n]}" for n in ("psycopg", "pymongo", "redis") if n in found)
    return (
        f"kode {found.get('kode-core')}, Python {found['python']}, {drivers}; "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )


def median(values: Sequence[float]) -> float:
    """The median, for the family modules' derived figures."""
    return statistics.median(values)
