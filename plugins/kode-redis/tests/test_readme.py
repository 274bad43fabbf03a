"""The README example runs as printed, against a real Redis server."""

from pathlib import Path

from kode_core.testing import TestServer, run_readme_example

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_example_stores_a_session_the_sdk_reads_back(
    tmp_path: Path, shared_server: TestServer
) -> None:
    printed = run_readme_example(README, cwd=tmp_path, env={"KODE_REDIS_URL": shared_server.url})
    assert printed.splitlines() == [
        "first prompt: What is kode?",
        "user -> What is kode?",
        "assistant -> Persistence for agents.",
        "entries: 2 first page: 2",
    ]


def test_the_agent_store_example_writes_only_what_changed(
    tmp_path: Path, shared_server: TestServer
) -> None:
    printed = run_readme_example(
        README, cwd=tmp_path, env={"KODE_REDIS_URL": shared_server.url}, heading="## Agent store"
    )
    assert printed.splitlines() == [
        "rows written: 2",
        "lock token > 0: True",
        "agents: ['agt-1']",
        "backends: 1 ('redis',)",
    ]
