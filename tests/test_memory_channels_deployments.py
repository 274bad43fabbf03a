import subprocess
import sys
from pathlib import Path

import pytest

from kode_core.testing import (
    ChannelStoreConformance,
    DeploymentStoreConformance,
    StoreFactory,
    readme_example,
    user_environment,
)

ROOT = Path(__file__).resolve().parents[1]


class TestMemoryChannelStore(ChannelStoreConformance):
    shared_across_processes = False
    versioned_storage = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")


class TestMemoryDeploymentStore(DeploymentStoreConformance):
    shared_across_processes = False
    versioned_storage = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")


def test_the_readme_example_runs(tmp_path: Path) -> None:
    code = readme_example(ROOT / "README.md", "## Channels and deployments")
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["['ch-1']", "[]", "http://10.0.0.5:8000", "[]"]
