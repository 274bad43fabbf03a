"""The README examples (this plugin's and the project's) run as printed, on real SQLite files."""

from pathlib import Path

from kode_core.testing import run_readme_example

PLUGIN_README = Path(__file__).parents[1] / "README.md"
PROJECT_README = Path(__file__).parents[3] / "README.md"


def test_the_readme_example_stores_a_session_the_sdk_reads_back(tmp_path: Path) -> None:
    database = tmp_path / "agents.db"
    printed = run_readme_example(
        PLUGIN_README, cwd=tmp_path, env={"KODE_SQLITE_PATH": str(database)}
    )
    assert printed.splitlines() == [
        "first prompt: What is kode?",
        "user -> What is kode?",
        "assistant -> Persistence for agents.",
        "entries: 2 first page: 2",
    ]
    assert database.exists()


def test_the_agent_store_example_writes_only_what_changed(tmp_path: Path) -> None:
    database = tmp_path / "agents.db"
    printed = run_readme_example(
        PLUGIN_README,
        cwd=tmp_path,
        env={"KODE_SQLITE_PATH": str(database)},
        heading="## Agent store",
    )
    assert printed.splitlines() == [
        "rows written: 2",
        "lock token: 1",
        "agents: ['agt-1']",
        "backends: 1 ('sqlite',)",
    ]
    assert database.exists()


def test_the_project_quickstart_runs_on_the_embedded_default(tmp_path: Path) -> None:
    printed = run_readme_example(
        PROJECT_README, cwd=tmp_path, heading="## Quickstart: builder maps"
    )
    assert printed.splitlines() == ["[{'type': 'user', 'uuid': 'u-1', 'message': 'hello'}]"]
    assert (tmp_path / "kode.db").exists()


def test_the_project_agent_store_example_runs_on_the_embedded_default(tmp_path: Path) -> None:
    printed = run_readme_example(PROJECT_README, cwd=tmp_path, heading="## Agent runtime store")
    assert printed.splitlines() == [
        "lock token 1",
        "('agt-1',)",
        "1 user message",
        "('sqlite',) 1 backend",
    ]
    assert (tmp_path / "kode.db").exists()


def test_the_project_readme_threads_and_runs_example_runs(tmp_path: Path) -> None:
    printed = run_readme_example(PROJECT_README, cwd=tmp_path, heading="## Agent threads and runs")
    assert printed.splitlines() == [
        "waiting: r-1",
        "claimed: True",
        "again: False",
        "last message: refund",
        "acme sees: ['t-1']",
        "acmeco sees: []",
        "deleted: True None",
    ]
