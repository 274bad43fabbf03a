"""A real PgBouncer in front of a test PostgreSQL server, as production deployments run one.

Kept beside :mod:`kode_core.testing.servers`, whose process handling it shares.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
from collections.abc import Iterator

from .servers import (
    _HOST,
    _PG_STARTUP,
    ServerMissingError,
    TestServer,
    _ask,
    _Engine,
    _postgres_verdict,
    _serving,
    _temp_data_dir,
)

# Debian installs it in /usr/sbin, which a non-root PATH often lacks.
_PGBOUNCER_PATHS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
_POOL_MODES = ("session", "transaction", "statement")


@contextlib.contextmanager
def pgbouncer_server(
    upstream: TestServer, *, pool_mode: str = "transaction", pool_size: int = 20
) -> Iterator[TestServer]:
    """Start a throwaway PgBouncer in front of ``upstream`` (a :func:`postgres_server`).

    Every database name is passed through to ``upstream``; the user ``postgres`` is let
    in without a password (``auth_type = trust``). Each database/user pair gets at most
    ``pool_size`` server connections, shared by the clients as ``pool_mode`` says
    (``transaction``: a client holds a server connection only for one transaction, so
    session state such as prepared statements and ``SET`` is seen by other clients).
    ``url`` is ``postgresql://postgres@127.0.0.1:PORT/postgres``; :meth:`~TestServer.stop`
    then :meth:`~TestServer.start` restarts the pooler, dropping its server connections.

    Raises :exc:`ServerMissingError` if PgBouncer is not installed.
    """
    if pool_mode not in _POOL_MODES:
        raise ValueError(f"pool_mode must be one of {_POOL_MODES}, got {pool_mode!r}")
    binary = _pgbouncer_binary()
    # PgBouncer refuses to run as root, like PostgreSQL.
    run_as = "postgres" if os.geteuid() == 0 else None
    with _temp_data_dir("pgbouncer") as data_dir:
        users = data_dir / "userlist.txt"
        users.write_text('"postgres" ""\n', encoding="utf-8")
        if run_as is not None:
            for path in (data_dir, users):
                shutil.chown(path, run_as, run_as)

        def command(port: int) -> list[str]:
            config = data_dir / "pgbouncer.ini"
            config.write_text(
                _config(upstream, port, users, pool_mode, pool_size), encoding="utf-8"
            )
            if run_as is not None:
                shutil.chown(config, run_as, run_as)
            return [binary, str(config)]

        spec = _Engine(
            name="pgbouncer",
            url_template="postgresql://postgres@{host}:{port}/postgres",
            command=command,
            probe=lambda port: _ask(port, _PG_STARTUP, _postgres_verdict),
            stop_signal=signal.SIGTERM,  # immediate shutdown; SIGINT waits for clients
            run_as=run_as,
        )
        with _serving(spec, data_dir) as server:
            yield server


def _pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (path for path in _PGBOUNCER_PATHS if pathlib.Path(path).is_file()), None
    )
    if found is None:
        raise ServerMissingError("pgbouncer not found: apt-get install pgbouncer")
    return found


def _config(
    upstream: TestServer, port: int, users: pathlib.Path, pool_mode: str, pool_size: int
) -> str:
    return "\n".join(
        [
            "[databases]",
            f"* = host={upstream.host} port={upstream.port}",
            "[pgbouncer]",
            f"listen_addr = {_HOST}",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {users}",
            "admin_users = postgres",
            f"pool_mode = {pool_mode}",
            f"default_pool_size = {pool_size}",
            "max_client_conn = 500",
            # Startup parameters some drivers send that PgBouncer would refuse.
            "ignore_startup_parameters = extra_float_digits,options",
            "",
        ]
    )
