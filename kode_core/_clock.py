"""The clock of every stored write time."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Storage write time in epoch milliseconds: the clock of every ``mtime``."""
    return time.time_ns() // 1_000_000
