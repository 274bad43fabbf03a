"""The seam, proven: a family added to the sqlite kind by a distribution of its own.

The plugin is the README's "Writing a service family" example, built and installed
with pip into a fresh virtual environment beside kode-core and kode-sqlite from this
checkout; nothing in kode-core knows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kode_core.testing import readme_example, user_environment

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "kode-notes"
version = "1.0.0"
dependencies = ["kode-core", "kode-sqlite"]

[project.entry-points.kode]
notes = "kode_notes"
"""
USE = """\
import anyio, sys, kode_core

async def main() -> None:
    defaults = {"sqlite": {"path": sys.argv[1], "auto_migrate": False, "max_note_chars": 5}}
    async with kode_core.stores("notes", defaults) as notes:
        store = notes.build({"kind": "sqlite", "options": {"namespace": "t"}})
        print(await store.schema_version(), store.supported_schema_version)
        if sys.argv[2] == "write":
            await store.add("hello")
            try:
                await store.add("too long")
            except kode_core.InvalidDataError:
                print("refused")
            print(await store.all())

anyio.run(main)
"""

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=user_environment(),
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_family_from_another_distribution_joins_the_sqlite_kind(tmp_path: Path) -> None:
    plugin = tmp_path / "kode-notes"
    (plugin / "kode_notes").mkdir(parents=True)
    (plugin / "pyproject.toml").write_text(PYPROJECT)
    code = readme_example(ROOT / "README.md", "## Writing a service family")
    (plugin / "kode_notes" / "__init__.py").write_text(code)
    _run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)
    bin_dir = tmp_path / "venv" / "bin"
    pip = (bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-input")
    _run(*pip, ROOT, ROOT / "plugins" / "kode-sqlite", plugin, cwd=tmp_path)

    listed = json.loads(_run(bin_dir / "kode", "backends", "--json", cwd=tmp_path))
    assert {row["kind"]: row["services"] for row in listed}["sqlite"] == [
        "agents",
        "notes",
        "runs",
        "sessions",
        "threads",
    ]
    (tmp_path / "use.py").write_text(USE)
    python = bin_dir / "python"
    assert _run(python, "use.py", "notes.db", "read", cwd=tmp_path).split() == ["0", "1"]

    migrated = _run(bin_dir / "kode", "migrate", "sqlite:///notes.db#t", cwd=tmp_path)
    assert "notes schema version 0 -> 1" in migrated
    assert "sessions schema version 0 -> 1" in migrated

    out = _run(python, "use.py", "notes.db", "write", cwd=tmp_path).splitlines()
    assert out == ["1 1", "refused", "['hello']"]
