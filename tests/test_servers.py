"""The test-server launchers start real servers that keep their data across a restart."""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import pymongo
import pytest
import redis

from kode_core.testing import servers
from kode_core.testing.servers import (
    ServerMissingError,
    TestServer,
    mongo_server,
    postgres_server,
    redis_server,
)


def _accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return False
    return True


def _mongo_client(server: TestServer) -> pymongo.MongoClient[dict[str, Any]]:
    return pymongo.MongoClient(server.url)


def _restart(server: TestServer) -> None:
    port, url = server.port, server.url
    server.stop()
    assert not server.running
    assert not _accepts_connections(server.port)
    server.stop()  # idempotent
    server.start()
    assert _accepts_connections(server.port)
    assert (server.port, server.url) == (port, url)


def test_postgres_server_keeps_data_across_restart() -> None:
    with postgres_server() as server:
        assert server.engine == "pg"
        assert server.url == f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kv (k text PRIMARY KEY, v text)")
            conn.execute("INSERT INTO kv VALUES ('a', 'kept')")
        _restart(server)
        with psycopg.connect(server.url) as conn:
            row = conn.execute("SELECT v FROM kv WHERE k = 'a'").fetchone()
        assert row == ("kept",)
    assert not server.running
    assert not server.data_dir.exists()


def test_redis_server_keeps_data_across_restart() -> None:
    with redis_server() as server:
        assert server.engine == "redis"
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        with redis.Redis.from_url(server.url) as client:
            client.set("a", "kept")
        _restart(server)
        with redis.Redis.from_url(server.url) as client:
            assert client.get("a") == b"kept"
    assert not server.running
    assert not server.data_dir.exists()


def test_mongo_server_keeps_data_across_restart_and_runs_transactions() -> None:
    with mongo_server() as server:
        assert server.engine == "mongo"
        assert server.url.startswith(f"mongodb://127.0.0.1:{server.port}/")
        with _mongo_client(server) as client:
            kv = client.kode.kv
            with client.start_session() as session, session.start_transaction():
                kv.insert_one({"_id": "a", "v": "kept"}, session=session)
        _restart(server)
        with _mongo_client(server) as client:
            assert client.kode.kv.find_one({"_id": "a"}) == {"_id": "a", "v": "kept"}
    assert not server.running
    assert not server.data_dir.exists()


def _fail_while_serving(served: list[TestServer]) -> None:
    with redis_server() as server:
        served.append(server)
        raise ValueError("body failed")


def test_server_is_stopped_and_deleted_when_the_body_raises() -> None:
    served: list[TestServer] = []
    with pytest.raises(ValueError, match="body failed"):
        _fail_while_serving(served)
    assert not served[0].running
    assert not _accepts_connections(served[0].port)
    assert not served[0].data_dir.exists()


@pytest.mark.parametrize(
    ("launcher", "install_hint"),
    [
        (postgres_server, "apt-get install postgresql"),
        (redis_server, "apt-get install redis-server"),
        (mongo_server, "pip install secantusdb==0.7.0b3"),
    ],
)
def test_missing_server_error_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
    launcher: Callable[[], AbstractContextManager[TestServer]],
    install_hint: str,
) -> None:
    monkeypatch.setenv("PATH", os.fspath(tmp_path))
    monkeypatch.setattr(servers, "_PG_INSTALL_ROOT", tmp_path)
    monkeypatch.setitem(sys.modules, "secantus", None)  # find_spec then says "absent"
    with pytest.raises(ServerMissingError, match=install_hint), launcher():
        pass


def test_postgres_lookup_picks_the_highest_major_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    for version in ("9.6", "15", "13"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "postgres").touch()
    monkeypatch.setattr(servers, "_PG_INSTALL_ROOT", tmp_path)
    assert servers._postgres_bin_dir() == tmp_path / "15" / "bin"


@pytest.fixture
def orphan_probe() -> Iterator[subprocess.Popen[str]]:
    """A child Python that starts a PostgreSQL server, prints its port, then sleeps."""
    code = """
        import time
        from kode_core.testing.servers import postgres_server
        with postgres_server() as server:
            print(server.port, server.data_dir, flush=True)
            time.sleep(60)
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    yield child
    child.kill()
    child.wait()
    assert child.stdout is not None
    child.stdout.close()


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_with_a_killed_test_process(
    orphan_probe: subprocess.Popen[str],
) -> None:
    assert orphan_probe.stdout is not None
    line = orphan_probe.stdout.readline()
    assert line, "the child process did not start PostgreSQL"
    port_text, data_dir = line.split(maxsplit=1)
    assert _accepts_connections(int(port_text))
    orphan_probe.send_signal(signal.SIGKILL)  # no teardown runs
    orphan_probe.wait()
    deadline = time.monotonic() + 5.0
    while _accepts_connections(int(port_text)):
        assert time.monotonic() < deadline, "the server outlived its test process"
        time.sleep(0.05)
    shutil.rmtree(data_dir.strip())  # the killed child could not delete it
