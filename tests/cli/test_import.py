"""``kode import`` checks the whole input before its first write, and never waits silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from ._terminal import TerminalRun
from .conftest import kode, open_store

GOOD_LINES = 30


def line(session: str, entry: dict[str, Any]) -> str:
    return json.dumps({"key": {"project_key": "p", "session_id": session}, "entry": entry})


def good_lines(count: int = GOOD_LINES, session: str = "s") -> list[str]:
    return [line(session, {"type": "user", "uuid": f"u{n}"}) for n in range(count)]


async def entries_stored(url: str) -> int:
    async with open_store(url) as store:
        return await store.count_entries({"project_key": "p", "session_id": "s"})


@pytest.mark.parametrize(
    ("bad", "problem", "source"),
    [
        ('{"key": {"project_key": "p", "sess', "not valid JSON", "stdin"),
        ('{"key": {"project_key": "p", "sess', "not valid JSON", "file"),
        ("garbage", "not valid JSON", "stdin"),
        (line("s", {"type": "user", "n": float("nan")}), "NaN is not a JSON number", "stdin"),
        (line("s", {"uuid": "no-type"}), "the entry must have a string 'type'", "file"),
        (line("", {"type": "user"}), "session_id must not be empty", "stdin"),
    ],
    ids=["truncated", "truncated-file", "garbage", "nan", "entry-without-type", "bad-key"],
)
def test_a_bad_line_stores_nothing_and_names_its_file_line(
    tmp_path: Path, bad: str, problem: str, source: str
) -> None:
    text = "\n".join([*good_lines(), bad, *good_lines(3)]) + "\n"
    url = f"sqlite:///{tmp_path}/kode.db"
    if source == "file":
        (tmp_path / "in.jsonl").write_text(text)
        done = kode("import", "--store", url, "--file", str(tmp_path / "in.jsonl"))
    else:
        done = kode("import", "--store", url, stdin=text)
    assert done.returncode == 1
    [error] = done.stderr.splitlines()  # one line, no traceback
    assert error.startswith(f"kode import: line {GOOD_LINES + 1}: "), error
    assert problem in error
    assert "nothing was stored" in error
    assert done.stdout == ""
    assert not (tmp_path / "kode.db").exists()  # not a single entry, not even the file


def test_an_entry_the_store_refuses_is_named_by_file_line_not_batch_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kode.db"
    anyio.run(migrate_store, url)
    # Past the first batch of 500: the store's own message would say "index 100".
    lines = [*good_lines(600), line("s", {"type": "user", "uuid": 7})]
    done = kode("import", "-s", url, stdin="\n".join(lines) + "\n")
    assert done.returncode == 1
    [error] = done.stderr.splitlines()
    assert error.startswith("kode import: line 601: the entry 'uuid' must be a string"), error
    assert "index" not in error
    assert anyio.run(entries_stored, url) == 0


async def migrate_store(url: str) -> None:
    async with open_store(url) as store:
        await store.migrate()


def test_a_good_file_is_imported_whole_and_again_as_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kode.db"
    (tmp_path / "in.jsonl").write_text("\n".join(good_lines(1200)) + "\n\n")
    first = kode("import", "-s", url, "-f", str(tmp_path / "in.jsonl"))
    assert first.returncode == 0, first.stderr
    assert "imported 1200 entries" in first.stdout
    assert "1200 stored, 0 skipped" in first.stdout
    again = kode("import", "-s", url, "-f", str(tmp_path / "in.jsonl"))
    assert "0 stored, 1200 skipped as already present" in again.stdout
    assert anyio.run(entries_stored, url) == 1200


def test_import_from_a_terminal_says_what_it_reads_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/kode.db"
    with TerminalRun("import", "--store", store, stream="stdin") as run:
        shown = run.wait_for_stderr("standard input")
        assert "kode import: reading JSON lines from standard input" in shown
        assert "--file" in shown
        run.interrupt()
        status, _, _ = run.finish(timeout=30)
    assert status == 130
    assert not (tmp_path / "kode.db").exists()
