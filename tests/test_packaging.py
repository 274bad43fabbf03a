"""The distributions install with plain pip and are discovered through entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kode_core.testing import user_environment

ROOT = Path(__file__).resolve().parents[1]
LIST_KINDS = (
    "import json, kode_core; "
    "print(json.dumps({b.kind: b.distribution for b in kode_core.load_registry().backends()}))"
)

pytestmark = pytest.mark.slow


def _run(*args: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_plain_pip_install_discovers_exactly_the_installed_plugins(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    env = user_environment()
    pip = (python, "-m", "pip", "install", "--quiet", "--no-input")

    _run(*pip, ROOT, ROOT / "plugins" / "kode-sqlite", env=env)
    kinds = json.loads(_run(python, "-c", LIST_KINDS, env=env))
    assert kinds == {"memory": "kode-core", "sqlite": "kode-sqlite"}

    _run(*pip, ROOT / "plugins" / "kode-pg", env=env)
    kinds = json.loads(_run(python, "-c", LIST_KINDS, env=env))
    assert kinds == {"memory": "kode-core", "pg": "kode-pg", "sqlite": "kode-sqlite"}

    off = {**env, "KODE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    assert json.loads(_run(python, "-c", LIST_KINDS, env=off)) == {"memory": "kode-core"}

    narrowed = {**env, "KODE_PLUGINS": "pg"}
    assert json.loads(_run(python, "-c", LIST_KINDS, env=narrowed)) == {
        "memory": "kode-core",
        "pg": "kode-pg",
    }
