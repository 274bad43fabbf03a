"""The project README's agent-store example runs as printed, on a real SQLite file."""

from pathlib import Path

from kode_core.testing import run_readme_example

PROJECT_README = Path(__file__).parents[3] / "README.md"


def test_the_project_agent_store_example_runs_on_sqlite(tmp_path: Path) -> None:
    printed = run_readme_example(PROJECT_README, cwd=tmp_path, heading="## Agent runtime store")
    lines = printed.splitlines()
    assert lines[0] == "lock token 1"
    assert lines[1] == "('agt-1',)"
    assert lines[2:] == ["1 user message", "('sqlite',) 1 backend"]
    assert (tmp_path / "kode.db").exists()
