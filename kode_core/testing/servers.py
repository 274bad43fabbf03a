"""Real database servers for tests: PostgreSQL, Redis and MongoDB (SecantusDB).

Each launcher starts a server on a free port of 127.0.0.1 with its data in a fresh
temporary directory, yields a :class:`TestServer`, and always stops the server and
deletes the directory afterwards. Servers run in the foreground as children of the test
process and, on Linux, die with it (``PR_SET_PDEATHSIG``), so a crashed run leaves no
orphans. Readiness is checked by speaking each wire protocol over a plain socket, so
this module needs no database driver.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import ClassVar

import attrs

_HOST = "127.0.0.1"
_READY_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0
_INITDB_TIMEOUT = 60.0
# A restart may find its port briefly taken (e.g. as a client's ephemeral port).
_PORT_RETRY_SECONDS = 5.0
_FREE_PORT_ATTEMPTS = 3
_LOG_NAME = "server.log"
_PG_INSTALL_ROOT = pathlib.Path("/usr/lib/postgresql")
_PR_SET_PDEATHSIG = 1

# Protocol 3.0 StartupMessage for user and database "postgres".
_PG_STARTUP_BODY = struct.pack("!i", 3 << 16) + b"user\0postgres\0database\0postgres\0\0"
_PG_STARTUP = struct.pack("!i", 4 + len(_PG_STARTUP_BODY)) + _PG_STARTUP_BODY
_REDIS_PING = b"*1\r\n$4\r\nPING\r\n"
# OP_MSG (opcode 2013), no flags, one body section: the BSON {ping: 1, $db: "admin"}.
_MONGO_PING_BSON = b"\x1e\0\0\0\x10ping\0\1\0\0\0\x02$db\0\6\0\0\0admin\0\0"
_MONGO_PING_HEAD = struct.pack("<iiiiIB", 21 + len(_MONGO_PING_BSON), 1, 0, 2013, 0, 0)
_MONGO_PING = _MONGO_PING_HEAD + _MONGO_PING_BSON


class ServerMissingError(RuntimeError):
    """A database server is not installed; the message says how to install it."""


class _PortInUseError(RuntimeError):
    pass


@attrs.frozen
class _Engine:
    name: str
    url_template: str
    command: Callable[[int], list[str]]  # the server's argv for a port
    probe: Callable[[int], bool]  # whether the server on that port answers
    stop_signal: signal.Signals
    run_as: str | None = None  # OS user and group to run the server as
    wake_on_stop: bool = False  # SecantusDB: see _poke and TestServer.stop


@attrs.define
class TestServer:
    """A real database server process on 127.0.0.1, owned by the test run.

    Made by :func:`postgres_server`, :func:`redis_server` and :func:`mongo_server`.
    :meth:`stop` then :meth:`start` is a server restart: the data in ``data_dir``
    survives it.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class, despite its name

    engine: str
    host: str
    port: int
    url: str
    data_dir: pathlib.Path
    _spec: _Engine = attrs.field(repr=False)
    _proc: subprocess.Popen[bytes] | None = attrs.field(init=False, default=None, repr=False)

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """(Re)start the server on the same port and data; do nothing if it is running.

        Returns once the server answers its wire protocol. Raises :exc:`RuntimeError`,
        with the tail of the server's log, if it does not within 30 s or if its port
        stays taken for 5 s.
        """
        deadline = time.monotonic() + _PORT_RETRY_SECONDS
        while True:
            try:
                self._launch()
            except _PortInUseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            else:
                return

    def stop(self) -> None:
        """Stop the server gracefully (killing it after 10 s), keeping ``data_dir``.

        Does nothing if the server is not running.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                _signal_main_thread(proc, self._spec.stop_signal)
            signalled = time.monotonic()
            deadline = signalled + _STOP_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                # Still accepting connections a second after the signal, SecantusDB has
                # missed it (seen once in ~1000 stops): send it again.
                if (
                    self._spec.wake_on_stop
                    and _poke(self.port)
                    and time.monotonic() > signalled + 1
                ):
                    _signal_main_thread(proc, self._spec.stop_signal)
                    signalled = time.monotonic()
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def _launch(self) -> None:
        if self.running:
            return
        log_start = _log_size(self.data_dir)
        argv = self._spec.command(self.port)
        proc = self._proc = _spawn(argv, self.data_dir, self._spec.run_as)
        deadline = time.monotonic() + _READY_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if self._spec.probe(self.port):
                return
            time.sleep(0.02)
        code = proc.poll()
        self.stop()
        tail = _log_tail(self.data_dir, log_start)
        what = f"{self.engine} server on {self.host}:{self.port}"
        if "address already in use" in tail.lower():
            raise _PortInUseError(f"{what}: port taken; log tail:\n{tail}")
        if code is None:
            msg = f"{what} not ready after {_READY_TIMEOUT:.0f} s; log tail:\n{tail}"
            raise RuntimeError(msg)
        raise RuntimeError(f"{what} exited with code {code}; log tail:\n{tail}")


@contextlib.contextmanager
def postgres_server() -> Iterator[TestServer]:
    """Start a throwaway PostgreSQL server; stop it and delete its data on exit.

    It has the superuser ``postgres`` with trust authentication and the database
    ``postgres``; ``url`` is ``postgresql://postgres@127.0.0.1:PORT/postgres``. It
    trades durability for speed (``fsync``, ``synchronous_commit`` and
    ``full_page_writes`` are off), but a :meth:`~TestServer.stop` keeps the data. When
    the tests run as root, the server runs as the ``postgres`` OS user, because
    PostgreSQL refuses to run as root.

    Raises :exc:`ServerMissingError` if PostgreSQL is not installed.
    """
    bin_dir = _postgres_bin_dir()
    run_as = "postgres" if os.geteuid() == 0 else None
    with _temp_data_dir("pg") as data_dir:
        if run_as is not None:
            try:
                shutil.chown(data_dir, run_as, run_as)
            except LookupError as exc:
                msg = "no OS user 'postgres' to run PostgreSQL as root"
                raise ServerMissingError(f"{msg}: apt-get install postgresql") from exc
        pgdata = str(data_dir / "pgdata")
        initdb = [str(bin_dir / "initdb"), "-D", pgdata, "-U", "postgres", "-A", "trust"]
        # A fixed locale: the caller's LANG may name one this machine lacks.
        _initdb([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"], data_dir, run_as)
        postgres = [str(bin_dir / "postgres"), "-D", pgdata, "-k", str(data_dir)]
        postgres += [f"--listen-addresses={_HOST}", "--fsync=off", "--synchronous-commit=off"]
        postgres += ["--full-page-writes=off"]
        spec = _Engine(
            name="pg",
            url_template="postgresql://postgres@{host}:{port}/postgres",
            command=lambda port: [*postgres, "-p", str(port)],
            probe=lambda port: _ask(port, _PG_STARTUP, _postgres_verdict),
            stop_signal=signal.SIGINT,  # "fast" shutdown: end sessions, checkpoint, exit
            run_as=run_as,
        )
        with _serving(spec, data_dir) as server:
            yield server


@contextlib.contextmanager
def redis_server() -> Iterator[TestServer]:
    """Start a throwaway Redis server; stop it and delete its data on exit.

    ``url`` is ``redis://127.0.0.1:PORT/0``. Data goes to an append-only file, so a
    :meth:`~TestServer.stop` keeps it. Raises :exc:`ServerMissingError` if
    ``redis-server`` is not installed.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        msg = "redis-server not found on PATH: apt-get install redis-server"
        raise ServerMissingError(msg)
    with _temp_data_dir("redis") as data_dir:
        (data_dir / "redis").mkdir()
        redis = [binary, "--bind", _HOST, "--dir", str(data_dir / "redis"), "--save", ""]
        # The AOF reaches the OS on each write, and the disk at the shutdown SIGTERM starts.
        redis += ["--appendonly", "yes", "--appendfsync", "no", "--daemonize", "no"]
        with _serving(_redis_engine(redis), data_dir) as server:
            yield server


def _redis_engine(argv: list[str]) -> _Engine:
    """A ``redis-server`` run as ``argv`` plus ``--port``, probed with PING."""
    return _Engine(
        name="redis",
        url_template="redis://{host}:{port}/0",
        command=lambda port: [*argv, "--port", str(port)],
        probe=lambda port: _ask(port, _REDIS_PING, _redis_verdict),
        stop_signal=signal.SIGTERM,
    )


@contextlib.contextmanager
def mongo_server() -> Iterator[TestServer]:
    """Start a throwaway SecantusDB (MongoDB wire protocol); stop it and delete its data.

    It presents itself as a single-node replica set, so transactions and change streams
    work; ``url`` is ``mongodb://127.0.0.1:PORT/?directConnection=true``. It runs in
    this Python interpreter. Raises :exc:`ServerMissingError` if ``secantusdb`` is not
    installed.
    """
    if importlib.util.find_spec("secantus") is None:
        msg = "SecantusDB not installed: pip install secantusdb==0.7.0b3"
        raise ServerMissingError(msg)
    with _temp_data_dir("mongo") as data_dir:
        # An explicit, empty config: a developer's ~/.secantus/secantusd.toml, found
        # otherwise, could turn on auth or --standalone.
        config = data_dir / "secantusd.toml"
        config.touch()
        secantus = [sys.executable, "-m", "secantus", "--config", str(config)]
        secantus += ["--host", _HOST, "--storage-path", str(data_dir / "secantus")]
        spec = _Engine(
            name="mongo",
            url_template="mongodb://{host}:{port}/?directConnection=true",
            command=lambda port: [*secantus, "--port", str(port)],
            probe=lambda port: _ask(port, _MONGO_PING, _mongo_verdict),
            # SIGKILL loses the latest writes; SIGTERM keeps them.
            stop_signal=signal.SIGTERM,
            wake_on_stop=True,
        )
        with _serving(spec, data_dir) as server:
            yield server


@contextlib.contextmanager
def _temp_data_dir(engine: str) -> Iterator[pathlib.Path]:
    with tempfile.TemporaryDirectory(prefix=f"kode-{engine}-") as tmp:
        yield pathlib.Path(tmp)


@contextlib.contextmanager
def _serving(spec: _Engine, data_dir: pathlib.Path) -> Iterator[TestServer]:
    # Another process may take the free port before the server binds it: try another.
    for attempt in range(_FREE_PORT_ATTEMPTS):
        port = _free_port()
        url = spec.url_template.format(host=_HOST, port=port)
        server = TestServer(spec.name, _HOST, port, url, data_dir, spec)
        try:
            server._launch()  # not start(), which waits for this port to come free
            break
        except _PortInUseError:
            if attempt == _FREE_PORT_ATTEMPTS - 1:
                raise
    try:
        yield server
    finally:
        server.stop()


def _spawn(argv: list[str], data_dir: pathlib.Path, run_as: str | None) -> subprocess.Popen[bytes]:
    with (data_dir / _LOG_NAME).open("ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            # Out of the terminal's process group: Ctrl-C reaches pytest only, whose
            # teardown then stops the servers gracefully.
            start_new_session=True,
            preexec_fn=_die_with_parent(),
            user=run_as,
            group=run_as,
            extra_groups=None if run_as is None else [],
        )


def _initdb(argv: list[str], data_dir: pathlib.Path, run_as: str | None) -> None:
    log_start = _log_size(data_dir)
    proc = _spawn(argv, data_dir, run_as)
    try:
        code = proc.wait(timeout=_INITDB_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 0:
        tail = _log_tail(data_dir, log_start)
        raise RuntimeError(f"initdb exited with code {code}; log tail:\n{tail}")


@functools.cache
def _libc() -> ctypes.CDLL | None:
    return ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> Callable[[], None] | None:
    """Return a ``preexec_fn`` that has Linux SIGKILL the child when this process dies.

    The kernel sends the signal when the *thread* that spawned the child ends, so start
    servers from a thread that outlives them, such as pytest's main thread. Between
    fork and exec the function makes two system calls and takes no lock that another
    thread of this process could hold.
    """
    libc = _libc()  # loaded here: dlopen() in the child could deadlock
    if libc is None:
        return None
    parent = os.getpid()

    def set_death_signal() -> None:
        # Popen calls this after its setuid, which would clear the setting.
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent:  # this process died before prctl took effect
            os._exit(1)

    return set_death_signal


def _signal_main_thread(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # Python runs signal handlers in the main thread only. When the kernel hands a
    # signal to another thread of SecantusDB while its main thread waits on a lock, the
    # handler never runs (seen in 1 of ~10 stops). The main thread's id is the pid.
    libc = _libc()
    if libc is None or libc.tgkill(proc.pid, proc.pid, int(sig)) != 0:
        proc.send_signal(sig)


def _postgres_bin_dir() -> pathlib.Path:
    # Debian keeps the server programs off PATH, one directory per major version.
    found = [d for d in _PG_INSTALL_ROOT.glob("*/bin") if (d / "postgres").is_file()]
    if found:
        return max(found, key=lambda d: [int(n) for n in d.parent.name.split(".") if n.isdigit()])
    initdb = shutil.which("initdb")
    if initdb is not None and shutil.which("postgres", path=os.path.dirname(initdb)):
        return pathlib.Path(initdb).parent
    msg = f"PostgreSQL not found in {_PG_INSTALL_ROOT}/*/bin nor on PATH"
    raise ServerMissingError(f"{msg}: apt-get install postgresql")


def _ask(port: int, request: bytes, verdict: Callable[[bytes], bool | None]) -> bool:
    # verdict judges the reply so far; None means it needs more bytes.
    reply = b""
    with contextlib.suppress(OSError), socket.create_connection((_HOST, port), 1) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            reply += chunk
            answer = verdict(reply)
            if answer is not None:
                return answer
    return False


def _postgres_verdict(reply: bytes) -> bool | None:
    # Messages are a type byte and a length that counts itself. ReadyForQuery ("Z")
    # means ready; ErrorResponse ("E") means e.g. "the database system is starting up".
    offset = 0
    while offset + 5 <= len(reply):
        kind = reply[offset : offset + 1]
        offset += 1 + int.from_bytes(reply[offset + 1 : offset + 5], "big")
        if offset > len(reply):
            return None
        if kind in (b"Z", b"E"):
            return kind == b"Z"
    return None


def _redis_verdict(reply: bytes) -> bool | None:
    # "-LOADING ..." while the append-only file is replayed.
    return reply.startswith(b"+PONG") if b"\r\n" in reply else None


def _mongo_verdict(reply: bytes) -> bool | None:
    if len(reply) < 4 or len(reply) < int.from_bytes(reply[:4], "little"):
        return None
    return b"\x01ok\0" + struct.pack("<d", 1.0) in reply


def _poke(port: int) -> bool:
    # SecantusDB's accept() does not return when it closes the listening socket on
    # SIGTERM: a connection wakes it, or the stop waits 2 s for it.
    try:
        socket.create_connection((_HOST, port), 0.2).close()
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _log_size(data_dir: pathlib.Path) -> int:
    log_path = data_dir / _LOG_NAME
    return log_path.stat().st_size if log_path.exists() else 0


def _log_tail(data_dir: pathlib.Path, start: int, limit: int = 4000) -> str:
    with contextlib.suppress(OSError), (data_dir / _LOG_NAME).open("rb") as log:
        log.seek(start)
        return log.read().decode(errors="replace")[-limit:]
    return "(no log)"
