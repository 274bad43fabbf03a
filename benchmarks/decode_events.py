"""The decode half of read_events, alone: stored rows to records, without a driver.

Decodes the timeline ``agent_store.py`` reads (10,000 events, the three channels
interleaved), as the stored JSON text of each entry, three ways:

- raw: ``json.loads`` of each row into plain dicts (what the raw baselines do);
- validating: ``Timeline.from_json``, which checks every value (``kode import``'s path);
- stored: ``Timeline.from_stored``, what the agent stores use for their own rows.

The paths take turns, round by round, on a busy machine too; it prints each one's
rows/s (median and best round) and their ratio to raw::

    uv run python benchmarks/decode_events.py [--events 10000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from _harness import positive
from agent_store import CHANNELS

from kode_core.agents import Timeline
from kode_core.testing.agents.samples import timeline


def stored_rows(events: int) -> list[str]:
    """The rows an agent store holds for the benchmark's timeline."""
    entries = (timeline(seq, CHANNELS[seq % len(CHANNELS)]) for seq in range(events))
    return [Timeline.coerce(entry).to_json() for entry in entries]


def rows_per_second(
    paths: dict[str, Callable[[str], Any]], rows: list[str], rounds: int
) -> dict[str, tuple[float, float]]:
    """Each path's rows/s (median round, best round), the paths taking turns round by round."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, decode in paths.items():
            start = time.perf_counter()
            decoded = [decode(row) for row in rows]
            times[name].append(time.perf_counter() - start)
            del decoded
    return {
        name: (len(rows) / statistics.median(taken), len(rows) / min(taken))
        for name, taken in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=positive, default=10_000, help="rows (10,000)")
    parser.add_argument("--rounds", type=positive, default=9, help="timed decodes of all (9)")
    args = parser.parse_args()
    rows = stored_rows(args.events)
    paths: dict[str, Callable[[str], Any]] = {
        "raw": json.loads,
        "validating": Timeline.from_json,
        "stored": Timeline.from_stored,
    }
    for decode in paths.values():  # warm up: caches, compiled readers
        decode(rows[0])
    speeds = rows_per_second(paths, rows, args.rounds)
    print(f"decode {args.events:,} stored timeline rows, {args.rounds} rounds, rows/s")
    print(f"  {'':<11} {'median':>10} {'best':>10}   median / raw   best / raw")
    raw_median, raw_best = speeds["raw"]
    for name, (median, best) in speeds.items():
        print(
            f"  {name:<11} {median:>10,.0f} {best:>10,.0f}"
            f"   {median / raw_median:>12.2f}   {best / raw_best:>10.2f}"
        )


if __name__ == "__main__":
    main()
