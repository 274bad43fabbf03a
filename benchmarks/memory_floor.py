"""How fast can an in-memory session store be that refuses what the engines refuse?

Step 1 of the peers' workload (``session_store_peers.py``: 20 sessions appended at
once, 50 appends of 5 entries of ~800 B each) for three stores taking turns, round
by round:

- ``claude InMemorySessionStore``: keeps the caller's entry objects, folds the
  summary (the Claude Agent SDK's ``fold_session_summary``) and checks nothing;
- ``floor``: the least a store must do to refuse what kode's engines refuse and to
  keep nothing the caller can change afterwards. Each entry is encoded by orjson, read
  back and compared (orjson writes NaN as ``null`` and encodes UUIDs and enum members,
  which the rules refuse), the same fold runs, and its summary is encoded and read back
  as well. It checks no key, type, uuid, size or depth, and dedupes nothing;
- ``kode``: kode's memory store, built through the public API, which does all that too.

It prints entries/s (the median round) and each store's ratio to the Claude store in
the same round (median and range).
Issue 12 asks for kode ≥ 0.5x the Claude store: ``floor`` shows how close any store that
validates can come on this machine::

    uv run --group bench-peers python benchmarks/memory_floor.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import orjson
from _harness import environment_line, markdown_table, positive
from peer_stores import ClaudeStore
from session_store import Appender, AppendWorkload, append_samples, kode_subject

from kode_core.sessions import SummaryFold

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _refuse(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def _checked_json(value: Any) -> str:
    raw = orjson.dumps(value, _refuse, _OPTIONS)
    if orjson.loads(raw) != value:
        raise ValueError("NaN, a UUID or an enum member is not JSON")
    return raw.decode()


class FloorStore:
    """The ``floor`` store (see the module): the Claude store's two methods, nothing else."""

    def __init__(self) -> None:
        from claude_agent_sdk import fold_session_summary

        self._fold: SummaryFold = fold_session_summary
        self._texts: dict[tuple[str, str, str | None], list[str]] = {}
        self._summaries: dict[tuple[str, str], tuple[Any, str]] = {}

    async def append(self, key: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> None:
        texts = [_checked_json(entry) for entry in entries]
        if key.get("subpath") is None:
            main = (key["project_key"], key["session_id"])
            previous = self._summaries.get(main)
            summary = self._fold(None if previous is None else previous[0], key, entries)
            self._summaries[main] = (summary, _checked_json(summary["data"]))
        where = (key["project_key"], key["session_id"], key.get("subpath"))
        self._texts.setdefault(where, []).extend(texts)

    async def load(self, key: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        texts = self._texts.get((key["project_key"], key["session_id"], key.get("subpath")))
        return None if texts is None else [orjson.loads(text) for text in texts]


async def measure(rounds: int, work: AppendWorkload) -> dict[str, list[float]]:
    """Entries/s of each store in each round; the order of the stores rotates by round."""
    from claude_agent_sdk import InMemorySessionStore

    async with kode_subject("memory", "") as kode:
        stores: dict[str, Appender] = {
            "claude InMemorySessionStore": ClaudeStore(InMemorySessionStore()),
            "floor": ClaudeStore(FloorStore()),
            "kode": kode,
        }
        rates: dict[str, list[float]] = {name: [] for name in stores}
        for index in range(rounds + 1):  # round 0 warms up and is not counted
            names = list(stores)
            names = names[index % len(names) :] + names[: index % len(names)]
            sessions = [f"r{index}-{i:03d}" for i in range(work.sessions)]
            samples = await append_samples([stores[n] for n in names], work, sessions)
            if index:
                for name, sample in zip(names, samples, strict=True):
                    assert sample.wall is not None
                    rates[name].append(sample.units / sample.wall)
        return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=positive, default=5, help="timed rounds (5)")
    args = parser.parse_args()
    work = AppendWorkload(sessions=20, appends=50, batch=5, entry_bytes=800)
    print(environment_line())
    rates = anyio.run(measure, args.rounds, work)
    claude = rates["claude InMemorySessionStore"]
    cells = []
    for name, found in rates.items():
        ratios = [mine / theirs for mine, theirs in zip(found, claude, strict=True)]
        cells.append(
            [
                name,
                f"{statistics.median(found):,.0f}",
                f"{statistics.median(ratios):.2f}",
                f"{min(ratios):.2f}-{max(ratios):.2f}",
            ]
        )
    headers = ["store", "entries/s (median)", "/ claude (median round)", "/ claude (range)"]
    print("\n".join(markdown_table(headers, cells, text_columns=1)))
    print(f"\n{work.sessions} sessions at once, {work.appends} appends of {work.batch} entries")
    command = ["uv", "run", "--group", "bench-peers", "python", "benchmarks/memory_floor.py"]
    print(f"Reproduce: {shlex.join([*command, *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
