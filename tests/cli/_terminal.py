"""``kode`` run with a terminal (a pseudo-terminal) as its stdin or stderr."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time

from kode_core.testing import user_environment


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class TerminalRun:
    """A ``kode`` process whose ``stream`` ("stdin" or "stderr") is a terminal; the other
    streams are pipes (stdout always, stderr when stdin is the terminal)."""

    def __init__(self, *args: str, stream: str, stdin: bytes = b"") -> None:
        master, slave = pty.openpty()
        self._master = master
        self._chunks: list[bytes] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kode_core", *args],
            env=user_environment(TERM="xterm-256color", COLUMNS="120"),
            stdin=slave if stream == "stdin" else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=slave if stream == "stderr" else subprocess.PIPE,
            # A run started in the background (nohup, CI runners) inherits SIGINT
            # ignored, and Python then leaves Ctrl-C ignored: give it the default back.
            preexec_fn=_default_sigint,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read_terminal, daemon=True)
        self._reader.start()
        self._input = None if stream == "stdin" else stdin

    def __enter__(self) -> TerminalRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:  # a test failed midway: leave no process behind
            self.process.kill()
            self.process.wait()

    def _read_terminal(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 4096)
            except OSError:  # EIO: the process closed its end
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def wait_for_stderr(self, text: str, timeout: float = 60) -> str:
        """Read the piped stderr until it shows ``text`` (or ``timeout`` passes)."""
        assert self.process.stderr is not None
        fd = self.process.stderr.fileno()
        read = b""
        deadline = time.monotonic() + timeout
        while text.encode() not in read and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            chunk = os.read(fd, 4096) if ready else b""
            if ready and not chunk:
                break
            read += chunk
        return read.decode()

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """``(exit status, stdout, what the terminal showed)``, the process waited for."""
        out, _ = self.process.communicate(self._input, timeout=timeout)
        self._reader.join(timeout=5)
        os.close(self._master)
        shown = b"".join(self._chunks).decode(errors="replace")
        return self.process.returncode, out.decode(), shown
