"""The README's examples run as printed, against a real MongoDB-wire server."""

from pathlib import Path

from kode_core.testing import TestServer, run_readme_example

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_example_stores_a_session_the_sdk_reads_back(
    tmp_path: Path, mongo: TestServer
) -> None:
    printed = run_readme_example(README, cwd=tmp_path, env={"KODE_MONGO_URL": mongo.url})
    assert printed.splitlines() == [
        "first prompt: What is kode?",
        "user -> What is kode?",
        "assistant -> Persistence for agents.",
        "entries: 2 first page: 2",
    ]


def test_the_readme_agent_store_example_runs_on_one_client(
    tmp_path: Path, mongo: TestServer
) -> None:
    printed = run_readme_example(
        README, cwd=tmp_path, env={"KODE_MONGO_URL": mongo.url}, heading="## Agent store"
    )
    assert printed.splitlines() == [
        "rows written: 2",
        "lock token: 1",
        "agents: ['agt-1']",
        "backends: 1 ('mongo',)",
    ]
