"""kode's session stores beside the stores a Python agent builder would otherwise pick.

Steps 1 and 2 of the session-store workload (``session_store.py``, same options and
defaults) on each engine, for kode, every peer of that engine (``peer_stores.py``: the
OpenAI Agents SDK's sessions, the Claude Agent SDK's in-memory and example stores) and
the raw-driver baseline (``baselines.py``), in the same run on the same server:

    1. 20 sessions appended concurrently, 50 appends of 5 entries each (~800 B each),
       each store in turn; ``--rounds`` (3) times, on new sessions, the order of the
       stores rotated by one each round;
    2. each of those sessions loaded whole, one at a time, the stores taking turns;
    3. (untimed) one batch appended twice, as a retry would: does the count grow?

Every store gets a pool of ``--pool-size`` (20) connections where it takes one. Run it
with::

    uv run nox -s bench_peers
    uv run nox -s bench_peers -- --kinds sqlite,pg --appends 10

benchmarks/README.md says what each peer does and holds the latest figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import shlex
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs
from _harness import (
    NotAvailable,
    Sample,
    base_parser,
    engine_location,
    environment_line,
    machine,
    markdown_table,
    positive,
    versions,
)
from baselines import RAW_BASELINES
from peer_stores import PEER_DISTRIBUTIONS, PEERS, claude_examples
from session_store import (
    Appender,
    AppendWorkload,
    add_append_arguments,
    append_operation,
    append_samples,
    kode_subject,
    load_operation,
    load_samples,
    warm_up_appends,
)

DEFAULT_JSON = Path(__file__).parent / "results_peers.json"
COMMAND = ("uv", "run", "nox", "-s", "bench_peers")
RETRY_SESSION = "retry"
#: kind -> the raw baseline's name in the tables.
RAW_NAMES = {
    "memory": "raw dict",
    "sqlite": "raw sqlite3",
    "pg": "raw psycopg",
    "mongo": "raw pymongo",
    "redis": "raw redis-py",
}


@attrs.frozen
class StoreFigures:
    """One store on one engine: its two timed steps and its retry count."""

    name: str
    append: Sample
    load: Sample
    held_after_batch: int
    held_after_retry: int

    def sample(self, step: str) -> Sample:
        """The sample of ``step``: "append" or "load"."""
        return self.append if step == "append" else self.load

    @property
    def idempotent(self) -> bool:
        """A retried batch stored nothing new."""
        return self.held_after_retry == self.held_after_batch

    def retry_cell(self) -> str:
        verdict = "yes" if self.idempotent else "no"
        return f"{verdict} ({self.held_after_batch} -> {self.held_after_retry})"


@attrs.frozen
class EngineFigures:
    """Every store measured on one engine: kode first, the raw baseline last."""

    engine: str
    operations: tuple[str, str]  # append, load
    stores: list[StoreFigures]
    detail: str

    @property
    def kode(self) -> StoreFigures:
        return self.stores[0]

    @property
    def raw(self) -> StoreFigures:
        return self.stores[-1]

    @property
    def peers(self) -> list[StoreFigures]:
        return self.stores[1:-1]

    def rows(self) -> Iterator[tuple[str, str]]:
        """(operation, step): the append row, then the load row (see
        :meth:`StoreFigures.sample`)."""
        yield from zip(self.operations, ("append", "load"), strict=True)


@attrs.frozen
class Absent:
    """A store with no figures on an engine: not installed or fetched, or failed."""

    engine: str
    store: str
    reason: str
    failed: bool

    def as_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


# -- one engine ------------------------------------------------------------------------


async def retried(subject: Appender, work: AppendWorkload) -> tuple[int, int]:
    """Step 3: entries held after a batch, and after the same batch appended again."""
    batch = work.entries(RETRY_SESSION, 0, work.batch)
    await subject.append(RETRY_SESSION, batch)
    once = await subject.count(RETRY_SESSION)
    await subject.append(RETRY_SESSION, batch)
    return once, await subject.count(RETRY_SESSION)


async def append_rounds(
    subjects: Sequence[Appender], work: AppendWorkload, rounds: Sequence[Sequence[str]]
) -> list[Sample]:
    """Step 1 once per round, on that round's sessions, the stores' order rotated by one
    each round (so noise does not always fall on the same store); one sample per store."""
    samples: list[list[Sample]] = [[] for _ in subjects]
    for r, sessions in enumerate(rounds):
        turn = r % len(subjects)
        order = [*range(turn, len(subjects)), *range(turn)]
        ran = await append_samples([subjects[i] for i in order], work, sessions)
        for i, sample in zip(order, ran, strict=True):
            samples[i].append(sample)
    return [Sample.combined(runs) for runs in samples]


async def open_peers(
    stack: contextlib.AsyncExitStack, kind: str, where: str, pool_size: int, fetch_problem: str
) -> tuple[list[tuple[str, Appender]], list[Absent]]:
    """The peers of ``kind`` that can run, and the ones that cannot."""
    opened: list[tuple[str, Appender]] = []
    absent: list[Absent] = []
    for peer in PEERS[kind]:
        if peer.example and fetch_problem:
            absent.append(Absent(kind, peer.name, fetch_problem, failed=False))
            continue
        try:
            opened.append((peer.name, await stack.enter_async_context(peer.open(where, pool_size))))
        except NotAvailable as exc:
            absent.append(Absent(kind, peer.name, f"not available: {exc}", failed=False))
    return opened, absent


async def bench(
    kind: str, where: str, args: argparse.Namespace, fetch_problem: str
) -> tuple[EngineFigures, list[Absent]]:
    """kode, the peers and the baseline on one engine, with equal pools."""
    work = AppendWorkload.of(args)
    async with contextlib.AsyncExitStack() as stack:
        kode = await stack.enter_async_context(kode_subject(kind, where, args.pool_size))
        peers, absent = await open_peers(stack, kind, where, args.pool_size, fetch_problem)
        raw = await stack.enter_async_context(RAW_BASELINES[kind](where, args.pool_size))
        names = ["kode", *(name for name, _ in peers), RAW_NAMES[kind]]
        subjects = [kode, *(subject for _, subject in peers), raw]
        await warm_up_appends(subjects, work)
        base = work.concurrent_sessions()
        rounds = [[f"{name}-{r}" for name in base] for r in range(args.rounds)]
        sessions = [session for sessions in rounds for session in sessions]
        for subject in subjects:  # a peer's per-conversation objects exist before timing
            for session in sessions:
                await subject.load(session)
        appended = await append_rounds(subjects, work, rounds)
        loaded = await load_samples(kind, subjects, sessions, names)
        stores = [
            StoreFigures(name, append, load, *await retried(subject, work))
            for name, subject, append, load in zip(names, subjects, appended, loaded, strict=True)
        ]
        operations = (append_operation(work), load_operation(loaded[0], len(sessions)))
        return EngineFigures(kind, operations, stores, raw.engine), absent


# -- the tables ------------------------------------------------------------------------

_DETAIL_HEADERS = (
    "engine",
    "operation",
    "store",
    "retry idempotent",
    "entries/s",
    "p50 ms",
    "p99 ms",
    "kode/this",
)
_SUMMARY_HEADERS = (
    "engine",
    "operation",
    "best peer",
    "kode /s",
    "best peer /s",
    "raw /s",
    "kode/best peer",
    "kode/raw",
)


def best_peer(figures: EngineFigures, step: str) -> StoreFigures | None:
    """The peer with the highest throughput for ``step`` ("append" or "load")."""
    peers = figures.peers
    return max(peers, key=lambda p: p.sample(step).rate) if peers else None


def _detail_cells(figures: EngineFigures) -> Iterator[tuple[str, ...]]:
    for operation, step in figures.rows():
        kode = figures.kode.sample(step).rate
        for store in figures.stores:
            sample = store.sample(step)
            yield (
                figures.engine,
                operation,
                store.name,
                store.retry_cell(),
                f"{sample.rate:,.0f}",
                f"{sample.percentile_ms(50):.2f}",
                f"{sample.percentile_ms(99):.2f}",
                f"{kode / sample.rate:.2f}",
            )


def _summary_cells(figures: EngineFigures) -> Iterator[tuple[str, ...]]:
    for operation, step in figures.rows():
        best = best_peer(figures, step)
        kode, raw = figures.kode.sample(step).rate, figures.raw.sample(step).rate
        peer = best.sample(step).rate if best else None
        yield (
            figures.engine,
            operation,
            best.name if best else "-",
            f"{kode:,.0f}",
            f"{peer:,.0f}" if peer else "-",
            f"{raw:,.0f}",
            f"{kode / peer:.2f}" if peer else "-",
            f"{kode / raw:.2f}",
        )


def format_tables(
    engines: Sequence[EngineFigures], absent: Sequence[Absent], work: AppendWorkload
) -> str:
    detail = [cells for figures in engines for cells in _detail_cells(figures)]
    summary = [cells for figures in engines for cells in _summary_cells(figures)]
    lines = markdown_table(_DETAIL_HEADERS, detail, text_columns=4)
    lines += [
        "",
        "entries/s: append over the wall time of all writers, load over the sum of calls;",
        "kode/this: kode's entries/s over this store's. retry idempotent: entries held",
        f"after a {work.batch}-entry batch -> after the same batch appended again.",
        "",
        *markdown_table(_SUMMARY_HEADERS, summary, text_columns=3),
        "",
    ]
    lines += [f"{figures.engine}: {figures.detail}" for figures in engines]
    lines += [f"{a.engine}: {a.store}: {a.reason}" for a in absent]
    return "\n".join(lines)


# -- the results file ------------------------------------------------------------------


def _peer_sources() -> dict[str, str]:
    """Each peer's name -> what it is and which installed distribution it comes from."""
    found = versions(PEER_DISTRIBUTIONS)
    return {
        peer.name: f"{peer.source} ({peer.distribution} {found.get(peer.distribution, '-')})"
        for peers in PEERS.values()
        for peer in peers
    }


def document(
    args: argparse.Namespace,
    command: str,
    engines: Sequence[EngineFigures],
    absent: Sequence[Absent],
    examples: dict[str, str],
    seconds: float,
) -> dict[str, Any]:
    results = []
    for figures in engines:
        for operation, step in figures.rows():
            best = best_peer(figures, step)
            kode, raw = figures.kode.sample(step).rate, figures.raw.sample(step).rate
            peer = best.sample(step).rate if best else None
            stores = {store.name: store.sample(step).as_json() for store in figures.stores}
            results.append(
                {
                    "engine": figures.engine,
                    "operation": operation,
                    "unit": "entries",
                    "stores": stores,
                    "best_peer": best.name if best else None,
                    "kode_over_best_peer": round(kode / peer, 3) if peer else None,
                    "kode_over_raw": round(kode / raw, 3),
                }
            )
    retry = [
        {
            "engine": figures.engine,
            "store": store.name,
            "entries_after_batch": store.held_after_batch,
            "entries_after_retry": store.held_after_retry,
            "idempotent": store.idempotent,
        }
        for figures in engines
        for store in figures.stores
    ]
    engines_detail = {figures.engine: figures.detail for figures in engines}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "wall_seconds": round(seconds, 1),
        "parameters": attrs.asdict(AppendWorkload.of(args))
        | {"rounds": args.rounds, "pool_size": args.pool_size},
        "versions": versions(PEER_DISTRIBUTIONS) | {"engines": engines_detail},
        "peers": _peer_sources(),
        "claude_examples": examples,
        "machine": machine(),
        "results": results,
        "retry": retry,
        "missing": [a.as_json() for a in absent],
    }


# -- command line ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None, DEFAULT_JSON)
    add_append_arguments(parser)
    option = functools.partial(parser.add_argument, type=positive)
    option("--rounds", default=3, help="times step 1 runs, on new sessions (3)")
    option("--pool-size", default=20, help="connections per store's pool (20)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run kode, the peers and the baselines on every chosen engine; print the tables;
    write the JSON file."""
    started = time.perf_counter()
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join([*COMMAND, *(["--", *argv] if argv else [])])
    print(f"{datetime.date.today()}: {environment_line()}", flush=True)
    engines: list[EngineFigures] = []
    absent: list[Absent] = []
    examples: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        fetch_problem = ""
        if any(peer.example for kind in args.kinds for peer in PEERS[kind]):
            print("  fetching claude-agent-sdk's example stores...", file=sys.stderr, flush=True)
            try:
                examples = stack.enter_context(claude_examples())
            except NotAvailable as exc:
                fetch_problem = f"not available: {exc}"
        for kind in args.kinds:
            with engine_location(kind) as where:
                print(f"  kode and its peers on {kind}...", file=sys.stderr, flush=True)
                try:
                    figures, missing = anyio.run(bench, kind, where, args, fetch_problem)
                except Exception as exc:  # one engine's failure must not lose the others'
                    traceback.print_exc()
                    failure = f"failed: {type(exc).__name__}: {exc}"
                    absent.append(Absent(kind, "every store", failure, failed=True))
                    continue
                engines.append(figures)
                absent += missing
    seconds = time.perf_counter() - started
    print()
    print(format_tables(engines, absent, AppendWorkload.of(args)))
    print(f"\nReproduce: {command}")
    print(f"Wall time: {seconds:.0f} s")
    found = document(args, command, engines, absent, examples, seconds)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(found, indent=2) + "\n")
    print(f"Results: {args.json}")
    if any(a.failed for a in absent):
        sys.exit(1)


if __name__ == "__main__":
    main()
