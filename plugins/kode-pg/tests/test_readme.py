"""The README example runs as printed, against a real PostgreSQL server."""

from pathlib import Path

from kode_core.testing import run_readme_example

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_example_stores_a_session_the_sdk_reads_back(
    tmp_path: Path, pg_url: str
) -> None:
    printed = run_readme_example(README, cwd=tmp_path, env={"KODE_PG_URL": pg_url})
    assert printed.splitlines() == [
        "first prompt: What is kode?",
        "user -> What is kode?",
        "assistant -> Persistence for agents.",
        "entries: 2 first page: 2",
    ]


def test_the_readme_agent_store_example_runs_on_the_shared_pool(
    tmp_path: Path, pg_url: str
) -> None:
    printed = run_readme_example(
        README, cwd=tmp_path, env={"KODE_PG_URL": pg_url}, heading="## Agent store"
    )
    assert printed.splitlines() == [
        "messages: 2",
        "events: [1, 2]",
        "user said: ['What is kode?']",
        "locked: True",
        "fork has: 2 messages",
        "healthy: True",
    ]
