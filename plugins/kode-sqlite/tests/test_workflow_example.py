"""The project's workflow examples, run as a user would on the embedded default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kode_core.testing import run_readme_example, user_environment

ROOT = Path(__file__).resolve().parents[3]


def test_the_readme_workflow_example_runs_on_sqlite(tmp_path: Path) -> None:
    printed = run_readme_example(ROOT / "README.md", cwd=tmp_path, heading="## Durable workflows")
    assert printed.splitlines() == ["True ['succeeded']", "{'cart': ['a1']}"]
    assert (tmp_path / "kode.db").exists()


def test_a_killed_workflow_resumes_in_another_process_without_rerunning_its_done_step(
    tmp_path: Path,
) -> None:
    example = ROOT / "examples" / "workflow_resume.py"
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.splitlines() == [
        "first process exit code: -9",
        "second process: run completed: [('reserve', 1), ('charge', 1), ('ship', 1)]",
        "work done: ['reserve', 'charge', 'ship']",
    ]
