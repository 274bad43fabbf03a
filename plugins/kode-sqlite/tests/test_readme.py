"""The README examples (this plugin's and the project's) run as printed, on real SQLite files."""

from pathlib import Path

import pytest

from kode_core.testing import python_blocks, run_python, run_readme_example

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


#: What each block of the project README prints, run as printed in a fresh folder with
#: no KODE_* variables (the embedded default). Blocks that need more (a distribution
#: installed, key material in the environment) run in the core's tests; the core's
#: tests/test_readmes.py checks that every block is run somewhere.
PROJECT_BLOCKS = {
    ("## Quickstart: builder maps", 0): ["[{'type': 'user', 'uuid': 'u-1', 'message': 'hello'}]"],
    ("## Quickstart: builder maps", 1): ["SqliteSessionStore resumes s-1"],
    ("## Quickstart: builder maps", 2): ["1 entry in SqliteSessionStore"],
    ("## Quickstart: builder maps", 3): ["('sqlite',) []"],
    ("## Agent runtime store", 0): [
        "lock token 1",
        "('agt-1',)",
        "1 user message",
        "('sqlite',) 1 backend",
    ],
    ("## Agent runtime store", 1): ["healthy: True"],
    ("## Channels and deployments", 0): ["['ch-1']", "[]", "http://10.0.0.5:8000", "[]"],
}


def test_the_table_names_blocks_the_project_readme_has() -> None:
    blocks = python_blocks(PROJECT_README)
    assert set(PROJECT_BLOCKS) <= {(b.heading, b.index) for b in blocks if not b.template}


@pytest.mark.parametrize(
    "where", list(PROJECT_BLOCKS), ids=lambda where: f"{where[0]} [{where[1]}]"
)
def test_a_project_readme_block_runs_as_printed(where: tuple[str, int], tmp_path: Path) -> None:
    [code] = [b.code for b in python_blocks(PROJECT_README) if (b.heading, b.index) == where]
    assert run_python(code, cwd=tmp_path).splitlines() == PROJECT_BLOCKS[where]


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
