"""What the queryable and extended agent store return: query rows, stats, health, metrics."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone

import attrs

from ._records import Message, ToolCallRecord

UTC = timezone.utc

#: The operation kinds :meth:`~kode_core.ExtendedAgentStore.metrics` counts.
OPERATION_KINDS = ("saves", "loads", "queries", "deletes", "events", "locks")


@attrs.frozen
class StoredMessage:
    """A message found by a query: its agent, position, and the time it was first stored."""

    agent_id: str
    position: int
    message: Message
    created_at: datetime


@attrs.frozen
class StoredToolCall:
    """A tool-call record found by a query, with its agent."""

    agent_id: str
    record: ToolCallRecord


@attrs.frozen
class AgentStats:
    """Exact counts for one agent."""

    agent_id: str
    total_messages: int
    total_tool_calls: int
    total_snapshots: int
    tool_calls_by_name: Mapping[str, int]
    tool_calls_by_state: Mapping[str, int]


@attrs.frozen
class HealthStatus:
    """The result of a real round trip to the engine."""

    healthy: bool
    reachable: bool
    latency_ms: float | None
    checked_at: datetime
    detail: str = ""


@attrs.frozen
class ConsistencyReport:
    """Problems found in one agent's stored data; ``consistent`` when there are none."""

    agent_id: str
    issues: tuple[str, ...]

    @property
    def consistent(self) -> bool:
        return not self.issues


@attrs.frozen
class OperationStats:
    """Count and latency (milliseconds) of one kind of operation."""

    count: int
    errors: int
    total_ms: float
    min_ms: float | None
    max_ms: float | None

    @property
    def avg_ms(self) -> float | None:
        return self.total_ms / self.count if self.count else None


@attrs.frozen
class StoreMetrics:
    """Operations counted since the store was built, and the engine's storage size."""

    operations: Mapping[str, OperationStats]
    total_operations: int
    #: Rows or documents the replace-style saves wrote or deleted (what changed, not the list).
    rows_written: int
    storage_bytes: int | None
    since: datetime


@attrs.define
class _Counter:
    count: int = 0
    errors: int = 0
    total: float = 0.0
    low: float | None = None
    high: float | None = None


class MetricsRecorder:
    """Counts operations by kind; :meth:`timed` wraps one."""

    def __init__(self) -> None:
        self._since = datetime.now(UTC)
        self._counters = {kind: _Counter() for kind in OPERATION_KINDS}
        self._rows_written = 0

    def count_rows(self, rows: int) -> None:
        """Add the rows a replace-style save wrote or deleted."""
        self._rows_written += rows

    def record(self, kind: str, elapsed_ms: float, *, failed: bool = False) -> None:
        counter = self._counters[kind]
        counter.count += 1
        counter.errors += failed
        counter.total += elapsed_ms
        counter.low = elapsed_ms if counter.low is None else min(counter.low, elapsed_ms)
        counter.high = elapsed_ms if counter.high is None else max(counter.high, elapsed_ms)

    def timed(self, kind: str) -> _Timing:
        """``with recorder.timed("saves"): ...`` counts one operation and its latency."""
        return _Timing(self, kind)

    def snapshot(self, storage_bytes: int | None) -> StoreMetrics:
        operations = {
            kind: OperationStats(c.count, c.errors, c.total, c.low, c.high)
            for kind, c in self._counters.items()
        }
        total = sum(stats.count for stats in operations.values())
        return StoreMetrics(operations, total, self._rows_written, storage_bytes, self._since)


class _Timing:
    def __init__(self, recorder: MetricsRecorder, kind: str) -> None:
        self._recorder = recorder
        self._kind = kind
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        elapsed = (time.perf_counter() - self._start) * 1000
        self._recorder.record(self._kind, elapsed, failed=exc_type is not None)
