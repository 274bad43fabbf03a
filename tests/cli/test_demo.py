"""``kode demo``: written here, resumed by a second process, read back."""

from __future__ import annotations

from pathlib import Path

from .conftest import kode


def test_the_demo_writes_resumes_in_a_second_process_and_prints_the_conversation(
    tmp_path: Path,
) -> None:
    done = kode("demo", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "kode demo on sqlite at .kode/kode.db, namespace 'default'" in out
    assert (tmp_path / ".kode" / "kode.db").is_file()  # the embedded default
    writer_pid = int(out.split("This process (pid ", 1)[1].split(")", 1)[0])
    resumer_pid = int(out.split("   process pid ", 1)[1].split(" ", 1)[0])
    assert writer_pid != resumer_pid
    assert "loaded 9 entries, appended 4" in out
    assert "sessions of 'kode-demo'" in out
    assert "Fix leap-year date parsing" in out  # the title, from the summary
    assert "first prompt  The date parser test fails on leap years" in out
    assert "subkeys  subagents/agent-a7f3c2e1" in out
    assert "tail: the last 6 of 13 entries" in out
    assert "[tool_use Bash]" in out
    assert "Done: test_parse_feb_29 covers 2024-02-29" in out  # the resumed turn

    again = kode("demo", cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.stderr
    listed = kode("sessions", "count", "kode-demo", cwd=tmp_path)
    assert listed.stdout == "2\n"


def test_the_demo_runs_on_a_named_store(tmp_path: Path) -> None:
    done = kode("demo", f"sqlite:///{tmp_path}/elsewhere.db#demo", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "namespace 'demo'" in done.stdout
    assert not (tmp_path / ".kode").exists()
