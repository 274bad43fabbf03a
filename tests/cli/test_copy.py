"""``kode copy`` across every engine, ``kode export`` and ``kode import``, on real servers."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import pytest

from kode_core.testing import unique_namespace, user_environment
from kode_core.testing.servers import TestServer

from .conftest import kode, open_store

SESSIONS = 200
MAIN_ENTRIES = 80
SUB_ENTRIES = 20
TOTAL = SESSIONS * (MAIN_ENTRIES + SUB_ENTRIES)


def entry(session: int, number: int, *, sub: bool = False) -> dict[str, Any]:
    value: dict[str, Any] = {
        "type": "assistant" if number % 2 else "user",
        "uuid": f"{'sub' if sub else 'main'}-{session}-{number}",
        "message": {"content": [{"type": "text", "text": f"turn {number} — é 🚀"}]},
        "n": number,
        "big": 2**70 + number,
        "$dollar.dot": {"nested": [None, True, 1.5]},
    }
    if number % 25 == 0:
        del value["uuid"]  # entries without uuid must not be copied twice either
    return value


async def fill(url: str) -> None:
    async with open_store(url) as store:
        for session in range(SESSIONS):
            project = f"project-{session % 3}"
            key = {"project_key": project, "session_id": f"s{session:03d}"}
            main = [entry(session, n) for n in range(MAIN_ENTRIES)]
            await store.append(key, main[:40])
            await store.append(key, main[40:])
            sub = {**key, "subpath": f"subagents/agent-{session}"}
            await store.append(sub, [entry(session, n, sub=True) for n in range(SUB_ENTRIES)])


def transcripts(export: str) -> dict[str, list[dict[str, Any]]]:
    """An export grouped by key: order-insensitive across keys, exact within one."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in export.splitlines():
        record = json.loads(line)
        assert set(record) == {"key", "entry"}
        grouped[json.dumps(record["key"], sort_keys=True)].append(record["entry"])
    return dict(grouped)


def copy(source: str, target: str) -> str:
    done = kode("copy", "--from", source, "--to", target)
    assert done.returncode == 0, done.stderr
    [summary] = done.stdout.splitlines()
    return summary


def export(store: str) -> str:
    done = kode("export", store)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_copy_through_every_engine_keeps_every_transcript_and_runs_again_as_a_no_op(
    tmp_path: Path, pg_server: TestServer, mongo_url: str, redis_url: str
) -> None:
    namespace = unique_namespace()
    chain = [
        f"sqlite:///{tmp_path}/source.db",
        f"{pg_server.url}#{namespace}",
        f"{mongo_url}#{namespace}",
        f"{redis_url}#{namespace}",
        f"sqlite:///{tmp_path}/final.db",
    ]
    anyio.run(fill, chain[0])
    for source, target in itertools.pairwise(chain):
        summary = copy(source, target)
        assert f"copied {SESSIONS} sessions ({2 * SESSIONS} transcripts)" in summary
        assert f": {TOTAL} entries written, 0 skipped as already present" in summary

    first, last = export(chain[0]), export(chain[-1])
    assert len(first.splitlines()) == TOTAL
    assert transcripts(last) == transcripts(first)

    for source, target in itertools.pairwise(chain):
        again = copy(source, target)
        assert f": 0 entries written, {TOTAL} skipped as already present" in again


def test_an_interrupted_copy_run_again_finishes_without_copying_anything_twice(
    tmp_path: Path,
) -> None:
    source, target = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    anyio.run(fill_small, source)

    async def copy_a_prefix() -> None:  # what a copy killed midway leaves behind
        async with open_store(source) as src, open_store(target) as dst:
            key = {"project_key": "p", "session_id": "s1"}
            head = [e.entry async for e in src.iter_entries(key)][:7]  # 7 includes uuid-less #0
            await dst.append(key, head)

    anyio.run(copy_a_prefix)
    summary = copy(source, target)
    assert ": 37 entries written, 7 skipped as already present" in summary
    assert transcripts(export(target)) == transcripts(export(source))
    assert ": 0 entries written, 44 skipped" in copy(source, target)


async def fill_small(url: str) -> None:
    async with open_store(url) as store:
        for session in ("s1", "s2"):
            key = {"project_key": "p", "session_id": session}
            await store.append(key, [entry(1, n) for n in range(20)])
            # Two entries without uuid, as in a transcript's summary lines.
            await store.append(key, [{"type": "note", "n": 1}, {"type": "note", "n": 1}])
        # A target whose transcript is not a prefix of the source's is left to uuids.


def test_export_then_import_is_idempotent_by_uuid(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path}/a.db#tenant_a", f"sqlite:///{tmp_path}/b.db"
    anyio.run(fill_small, source)
    lines = export(source)
    only_p = kode("export", source, "--project", "p")
    assert only_p.stdout == lines
    assert "44 entries" in only_p.stderr
    first = kode("import", target, stdin=lines)
    assert first.returncode == 0, first.stderr
    assert "imported 44 entries" in first.stdout
    assert "44 stored, 0 skipped as already present" in first.stdout
    # Again: uuids are skipped; the six entries without uuid are appended again.
    again = kode("import", target, stdin=lines)
    assert "6 stored, 38 skipped as already present" in again.stdout


def test_import_names_the_line_at_fault(tmp_path: Path) -> None:
    good = json.dumps({"key": {"project_key": "p", "session_id": "s"}, "entry": {"type": "t"}})
    bad_key = json.dumps({"key": {"project_key": "p", "session_id": ""}, "entry": {"type": "t"}})
    for text, problem in [
        (f"{good}\nnot json\n", "line 2: not valid JSON"),
        (f"{good}\n{bad_key}\n", "line 2: invalid session key: session_id must not be empty"),
        ('{"key": 1}\n', 'line 1: expected {"key": {...}, "entry": {...}}'),
    ]:
        done = kode("import", f"sqlite:///{tmp_path}/x.db", stdin=text)
        assert done.returncode == 1
        [line] = done.stderr.splitlines()
        assert problem in line, line


def test_sessions_list_show_and_count_read_a_store(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/a.db"
    anyio.run(fill_small, store)
    listed = kode("sessions", "list", "p", "--store", store)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"│ s1 +│ .* │ +22 │ +0 │", listed.stdout), listed.stdout
    as_json = kode("sessions", "list", "p", "--store", store, "--json", "--after", "s1")
    [row] = json.loads(as_json.stdout)["sessions"]
    assert (row["session_id"], row["entries"], row["title"]) == ("s2", 22, "turn 0 — é 🚀")
    first_page = kode("sessions", "list", "p", "--store", store, "--limit", "1")
    assert "more: kode sessions list p --after s1" in first_page.stderr
    shown = kode("sessions", "show", "p", "s2", "--store", store, "--tail", "3")
    assert [line.split()[:2] for line in shown.stdout.splitlines()] == [
        ["20", "assistant"],
        ["21", "note"],
        ["22", "note"],
    ]
    assert kode("sessions", "count", "p", "--store", store).stdout == "2\n"
    assert kode("sessions", "count", "p", "s1", "--store", store).stdout == "22\n"
    missing = kode("sessions", "show", "p", "nope", "--store", store)
    assert missing.returncode == 1


def peak_rss_of_copy(source: str, target: str) -> int:
    """Peak resident memory (KiB) of a ``kode copy`` process."""
    code = (
        "import resource, sys; from kode_core._cli import main; code = main(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "copy", "--from", source, "--to", target],
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.splitlines()[-1])


async def fill_long(url: str, entries: int) -> None:
    async with open_store(url) as store:
        key = {"project_key": "p", "session_id": "long"}
        for start in range(0, entries, 1000):
            batch = [
                {"type": "user", "uuid": f"u{n}", "text": "x" * 2000}
                for n in range(start, min(start + 1000, entries))
            ]
            await store.append(key, batch)


@pytest.mark.slow
def test_copy_memory_stays_flat_however_long_the_transcript(tmp_path: Path) -> None:
    small, big = f"sqlite:///{tmp_path}/small.db", f"sqlite:///{tmp_path}/big.db"
    anyio.run(fill_long, small, 1_000)  # 2 MB of entries
    anyio.run(fill_long, big, 40_000)  # 80 MB of entries
    baseline = peak_rss_of_copy(small, f"sqlite:///{tmp_path}/small-copy.db")
    peak = peak_rss_of_copy(big, f"sqlite:///{tmp_path}/big-copy.db")
    assert peak - baseline < 30 * 1024, (baseline, peak)  # far less than the 78 MB more
