"""The distributions build, install with plain pip (from source or offline from their
wheels) and are discovered through entry points; CI runs the test command README gives."""

from __future__ import annotations

import json
import os
import re
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
SOURCES = (
    ROOT,
    *(ROOT / "plugins" / f"kode-{kind}" for kind in ("sqlite", "pg", "mongo", "redis")),
)
# Installed one after another into one venv, as the requirements and the kind they add:
# kode-core with one plugin, then the CLI extra and each other plugin.
INSTALL_STEPS = (
    (("kode-core", "kode-mongo"), "mongo"),
    (("kode-core[cli]", "kode-sqlite"), "sqlite"),
    (("kode-pg",), "pg"),
    (("kode-redis",), "redis"),
)
# Run by a wheel-installed interpreter: every kind the registry lists, built through the
# builder map; memory and sqlite (no server needed) also append and load.
BUILD_STORES = """
import json, sys
import anyio
import kode_core

DEFAULTS = {
    "memory": {},
    "sqlite": {"path": sys.argv[1]},
    # Nothing listens on port 9: building a store does no I/O.
    "pg": {"url": "postgresql://kode@127.0.0.1:9/kode"},
    "mongo": {"url": "mongodb://127.0.0.1:9/kode"},
    "redis": {"url": "redis://127.0.0.1:9/0"},
}
KEY = {"project_key": "p", "session_id": "s"}

async def main():
    kinds = kode_core.load_registry().kinds
    report = {"module": kode_core.__file__, "built": [], "loaded": {}}
    async with kode_core.session_stores({kind: DEFAULTS[kind] for kind in kinds}) as stores:
        for kind in kinds:
            store = stores.build({"kind": kind})
            report["built"].append(kind)
            if kind in ("memory", "sqlite"):
                await store.append(KEY, [{"type": "user", "uuid": "u-1", "message": "hi"}])
                report["loaded"][kind] = await store.load(KEY)
    print(json.dumps(report))

anyio.run(main)
"""


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
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


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """Every distribution's sdist and wheel: those in $KODE_TEST_DIST, else built here."""
    given = os.environ.get("KODE_TEST_DIST")  # nox -s wheels: test what it built in dist/
    if given:
        return Path(given)
    out = tmp_path / "dist"
    for source in SOURCES:
        _run(sys.executable, "-m", "build", "--outdir", out, source)
    return out


@pytest.mark.slow
def test_wheels_install_offline_and_each_plugin_builds_its_stores(
    dist: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    env = user_environment()
    [core] = dist.glob("kode_core-*.whl")
    plugins = sorted(set(dist.glob("kode_*.whl")) - {core})
    assert len(plugins) == len(INSTALL_STEPS), plugins

    # The third-party dependencies the wheels declare, fetched as a user would, so the
    # installs below need no index. kode's own wheels come from dist alone.
    deps = tmp_path / "deps"
    download = (python, "-m", "pip", "download", "--quiet", "--dest", deps)
    _run(*download, f"{core}[cli]", *plugins, env=env)
    for own in deps.glob("kode_*"):
        own.unlink()
    # No index, nor the find-links of this machine's pip configuration.
    offline = {k: v for k, v in env.items() if not k.startswith("PIP_")}
    offline["PIP_CONFIG_FILE"] = os.devnull
    pip = (python, "-m", "pip", "install", "--quiet", "--no-input", "--no-index")
    pip += ("--find-links", str(dist), "--find-links", str(deps))

    installed = {"memory": "kode-core"}
    entry = {"type": "user", "uuid": "u-1", "message": "hi"}
    for requirements, kind in INSTALL_STEPS:
        _run(*pip, *requirements, env=offline)
        installed[kind] = f"kode-{kind}"
        # cwd: not the checkout, whose kode_core would shadow the installed one
        built = _run(python, "-c", BUILD_STORES, tmp_path / "kode.db", env=env, cwd=tmp_path)
        report = json.loads(built)
        assert Path(report["module"]).is_relative_to(venv), report["module"]
        assert report["built"] == sorted(installed)
        with_io = [k for k in ("memory", "sqlite") if k in installed]
        assert report["loaded"] == {k: [entry] for k in with_io}  # sqlite: one, though re-appended

    backends = json.loads(_run(venv / "bin" / "kode", "backends", "--json", env=env))
    assert {b["kind"]: b["distribution"] for b in backends} == installed


def test_ci_runs_the_test_command_readme_gives() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    development = readme[readme.index("\n## Development\n") :]
    block = re.search(r"^```console\n(.+)\n```$", development, re.MULTILINE)
    assert block is not None, "README's Development section gives no command"
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert block[1] in ci_lines
