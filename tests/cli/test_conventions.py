"""One convention across ``kode`` commands: ``--store``, help, progress, streams, errors."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from kode_core._cli import main

from ._terminal import TerminalRun
from .conftest import kode, open_store

STORE_COMMANDS = [
    ["doctor"],
    ["migrate"],
    ["sessions", "list", "p"],
    ["sessions", "show", "p", "s"],
    ["sessions", "count", "p"],
    ["export"],
    ["import"],
    ["demo"],
]


async def fill(url: str, sessions: int = 3) -> None:
    async with open_store(url) as store:
        for number in range(sessions):
            key = {"project_key": "p", "session_id": f"s{number}"}
            await store.append(key, [{"type": "user", "uuid": f"{number}-{n}"} for n in range(4)])


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_every_command_names_its_store_with_store_option(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*command, "--help"])
    assert caught.value.code == 0
    help_text = capsys.readouterr().out
    assert "--store STORE, -s STORE" in help_text
    if command[0] != "sessions":  # the positional STORE of 0.1, kept one release
        assert "deprecated, use --store STORE" in help_text


def test_store_option_and_the_deprecated_positional_name_the_same_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["doctor", "--store", "memory://#tenant_a"]) == 0
    assert "namespace 'tenant_a'" in capsys.readouterr().out
    assert main(["doctor", "memory://#tenant_b"]) == 0
    assert "namespace 'tenant_b'" in capsys.readouterr().out
    assert main(["doctor", "memory://", "--store", "memory://"]) == 1
    assert "name the store once" in capsys.readouterr().err


def test_copy_help_explains_from_and_to_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["copy", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--from STORE the store to copy from (read only; it must exist)" in text
    assert "--to STORE the store to copy into (created or migrated as needed)" in text
    assert "kode copy --from sqlite:///.kode/kode.db --to postgresql://" in text


def test_json_listing_gives_the_next_page_cursor(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/kode.db"
    anyio.run(fill, store)
    first = kode("sessions", "list", "p", "--store", store, "--json", "--limit", "2")
    assert first.returncode == 0, first.stderr
    page = json.loads(first.stdout)
    assert [row["session_id"] for row in page["sessions"]] == ["s0", "s1"]
    assert page["next_after"] == "s1"
    after = page["next_after"]
    last = json.loads(kode("sessions", "list", "p", "-s", store, "--json", "--after", after).stdout)
    assert [row["session_id"] for row in last["sessions"]] == ["s2"]
    assert last["next_after"] is None


def test_notes_go_to_stderr_and_data_to_stdout(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/kode.db"
    anyio.run(fill, store)
    paged = kode("sessions", "list", "p", "--store", store, "--limit", "2")
    assert "more: kode sessions list p --after s1" in paged.stderr
    assert "more:" not in paged.stdout
    assert "s0" in paged.stdout
    empty = kode("sessions", "list", "nope", "--store", store)
    assert (empty.returncode, empty.stdout) == (0, "")
    assert "no sessions in project 'nope'" in empty.stderr
    missing = kode("sessions", "show", "p", "nope", "--store", store)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr.startswith("kode sessions show: no entries under project_key 'p'")
    exported = kode("export", "--store", store)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [record["key"]["project_key"] for record in records] == ["p"] * 12
    assert "12 entries" in exported.stderr


def test_an_error_quoting_a_very_long_id_is_cut_short(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/kode.db"
    anyio.run(fill, store)
    errors = []
    for long_id in ("x" * 1000, "x" * 10_000):  # a valid id, one the key rules refuse
        done = kode("sessions", "show", "p", long_id, "--store", store)
        assert done.returncode == 1
        [error] = done.stderr.splitlines()
        assert len(error) < 300, len(error)
        errors.append(error)
        listing = kode("sessions", "list", long_id, "--store", store)
        assert len(listing.stderr) < 300, listing.stderr
    assert "x" * 80 + "…" in errors[0]


def test_export_and_import_show_progress_on_a_terminal_only(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    anyio.run(fill, source)
    with TerminalRun("export", "--store", source, stream="stderr") as run:
        status, lines, terminal = run.finish()
    assert status == 0
    assert len(lines.splitlines()) == 12
    assert "sessions" in terminal
    assert "3/3" in terminal  # the bar, over the source's sessions
    assert "12 entries" in terminal

    with TerminalRun("import", "--store", target, stream="stderr", stdin=lines.encode()) as run:
        status, summary, terminal = run.finish()
    assert status == 0
    assert "12 stored" in summary
    assert "12/12" in terminal  # the bar, over the input's entries

    piped = kode("import", "--store", target, stdin=lines)
    assert piped.stderr == ""  # off a terminal: no bar, only the summary on stdout
    assert "12 skipped as already present" in piped.stdout
