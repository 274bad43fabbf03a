"""The README's agent-store example runs as printed, against a real MongoDB-wire server."""

from pathlib import Path

from kode_core.testing import run_readme_example
from kode_core.testing._servers import TestServer

README = Path(__file__).parents[1] / "README.md"


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
