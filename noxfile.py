"""Every development task of kode. ``nox -l`` lists them; ``nox`` runs the default ones."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
# Without uv, virtualenv makes the environments: it comes with nox (a dependency), is
# quicker than the stdlib's venv and seeds a current pip, not the one Debian bundles.
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True

ROOT = Path(__file__).parent
DIST = ROOT / "dist"
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
TEST_DEPS = nox.project.dependency_groups(PYPROJECT, "test")
PLUGINS = ("sqlite", "pg", "mongo", "redis")
# The Debian packages of the servers the test fixtures start (MongoDB's, secantusdb, is
# a test dependency from the package index). kode-pg's tests also run PostgreSQL behind
# PgBouncer, as production deployments do.
SERVERS = ("postgresql", "redis-server")
PLUGIN_SERVERS = {"pg": ["postgresql", "pgbouncer"], "redis": ["redis-server"]}


def _pytest(session: nox.Session, *paths: str, env: dict[str, str] | None = None) -> None:
    """Run pytest strictly on ``paths``, passing extra arguments through."""
    session.run(
        "pytest",
        "--strict-config",
        "--strict-markers",
        "-ra",
        "--durations=10",
        *paths,
        *session.posargs,
        env=env,
    )


def _install_servers(session: nox.Session, *packages: str) -> None:
    """As root on Debian, apt-get install the database servers in ``packages`` not found.

    Otherwise leave them: a test that needs a missing server fails, saying how to install it.
    """
    missing = [package for package in packages if not _server_found(package)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.warn(f"not found: {' '.join(missing)}; the tests that start them will fail")
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", env=env, external=True)
    install = ("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing)
    session.run(*install, env=env, external=True)


def _server_found(package: str) -> bool:
    # Where the test fixtures look (kode_core/testing/servers.py): Debian keeps
    # PostgreSQL's programs off PATH, in one folder per major version.
    if package == "postgresql":
        postgres = Path("/usr/lib/postgresql").glob("*/bin/postgres")
        return any(postgres) or bool(shutil.which("initdb"))
    if package == "pgbouncer":  # in /usr/sbin, which a non-root PATH lacks
        return Path("/usr/sbin/pgbouncer").is_file() or bool(shutil.which(package))
    return bool(shutil.which(package))  # redis-server


@nox.session(python=None)
def tests_core(session: nox.Session) -> None:
    """Test kode-core alone (registry, builder maps, memory backend, kit, packaging)."""
    _install_servers(session, *SERVERS)  # the kit's server launchers are tested too
    session.install("-e", ".[cli]", *TEST_DEPS)
    _pytest(session, "tests", "--ignore=tests/cli")


@nox.session(python=None)
def tests_cli(session: nox.Session) -> None:
    """Test the kode command across every engine, against real servers."""
    _install_servers(session, *SERVERS)
    plugins = [arg for name in PLUGINS for arg in ("-e", f"plugins/kode-{name}")]
    session.install("-e", ".[cli]", *plugins, *TEST_DEPS)
    _pytest(session, "tests/cli")


@nox.session(python=None)
@nox.parametrize("plugin", PLUGINS)
def tests_plugin(session: nox.Session, plugin: str) -> None:
    """Test one engine plugin against a real server started by its fixtures."""
    _install_servers(session, *PLUGIN_SERVERS.get(plugin, []))
    session.install("-e", ".[cli]", "-e", f"plugins/kode-{plugin}", *TEST_DEPS)
    _pytest(session, f"plugins/kode-{plugin}/tests")


@nox.session(python=None)
def wheels(session: nox.Session) -> None:
    """Build every distribution into dist/ (emptied first), check it, install the wheels."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "wheels"))
    shutil.rmtree(DIST, ignore_errors=True)
    for source in (".", *(f"plugins/kode-{name}" for name in PLUGINS)):
        session.run("python", "-m", "build", "--outdir", str(DIST), source)
    session.run("twine", "check", "--strict", *sorted(str(path) for path in DIST.iterdir()))
    test = "tests/test_packaging.py::test_wheels_install_offline_and_each_plugin_builds_its_stores"
    _pytest(session, test, env={"KODE_TEST_DIST": str(DIST)})


@nox.session(python=None)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=None)
def typing(session: nox.Session) -> None:
    """Type-check every package with mypy --strict."""
    plugins = [arg for name in PLUGINS for arg in ("-e", f"plugins/kode-{name}")]
    session.install("-e", ".", *plugins, *nox.project.dependency_groups(PYPROJECT, "typing"), "nox")
    session.run("mypy", "--strict")


@nox.session(python=None)
def demo(session: nox.Session) -> None:
    """Run `kode demo` on the embedded default (SQLite), and the quickstart example."""
    session.install("-e", ".[cli]", "-e", "plugins/kode-sqlite")
    quickstart = str(ROOT / "examples" / "quickstart.py")
    session.chdir(session.create_tmp())  # the embedded default ./.kode/kode.db goes there
    session.run("kode", "demo", *session.posargs)
    session.run("python", quickstart)


@nox.session(python=None, default=False)
def bench(session: nox.Session) -> None:
    """Benchmark kode's stores against the raw drivers on every engine (not in CI)."""
    _install_servers(session, *SERVERS)
    plugins = [arg for name in PLUGINS for arg in ("-e", f"plugins/kode-{name}")]
    session.install("-e", ".", *plugins, *TEST_DEPS)
    session.run("python", "benchmarks", *session.posargs)  # every family, one table


@nox.session(python=None, default=False)
def bench_peers(session: nox.Session) -> None:
    """Benchmark kode's session stores beside other agent SDKs' stores (not in CI)."""
    plugins = [arg for name in PLUGINS for arg in ("-e", f"plugins/kode-{name}")]
    peers = nox.project.dependency_groups(PYPROJECT, "bench-peers")
    session.install("-e", ".", *plugins, *TEST_DEPS, *peers)
    session.run("python", "benchmarks/session_store_peers.py", *session.posargs)
