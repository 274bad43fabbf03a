"""The agent store's upper layers: :class:`QueryableAgentStore`, :class:`ExtendedAgentStore`."""

from __future__ import annotations

import abc
import builtins
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from .._errors import InvalidRecordError, KodeError, NotFoundError
from ._lock import AgentLock
from ._queries import MessageQuery, SessionQuery, ToolCallQuery, parse_query
from ._records import AgentInfo, Message, ToolCallRecord
from ._results import (
    AgentStats,
    ConsistencyReport,
    HealthStatus,
    StoredMessage,
    StoredToolCall,
    StoreMetrics,
)
from ._rows import InfoRow
from ._store import MAX_AGENT_ID_LENGTH, AgentStore, check_agent_id

UTC = timezone.utc

MAX_FORKS = 100
DEFAULT_LOCK_TIMEOUT = 30.0
DEFAULT_LEASE = 30.0


def _filters(filters: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    if filters is not None and not isinstance(filters, Mapping):
        raise InvalidRecordError("filters", f"must be a mapping, got {type(filters).__name__}")
    merged = dict(filters or {})
    for name, value in extra.items():
        if name in merged:
            raise InvalidRecordError(f"filter {name!r}", "is given both in the mapping and by name")
        merged[name] = value
    return merged


class QueryableAgentStore(AgentStore):
    """An :class:`AgentStore` that also answers queries across agents.

    Filters come as a mapping, as keyword arguments, or both; either KODE name set
    works (``createdAfter`` or ``startDate``, ``toolName``, ``sortBy``...). The
    default limit is 100; sort fields are checked against a fixed list.
    """

    async def query_sessions(
        self, filters: Mapping[str, Any] | None = None, /, **by_name: Any
    ) -> builtins.list[AgentInfo]:
        """Agents' info records by ``template_id`` and creation time (default: oldest first)."""
        query = parse_query(SessionQuery, _filters(filters, by_name))
        with self._metrics.timed("queries"):
            bodies = await self._query_sessions(query)
        return [self._decode(AgentInfo, body) for body in bodies]

    async def query_messages(
        self, filters: Mapping[str, Any] | None = None, /, **by_name: Any
    ) -> builtins.list[StoredMessage]:
        """Messages by agent, ``role``, ``content_type`` and first-stored time."""
        query = parse_query(MessageQuery, _filters(filters, by_name))
        with self._metrics.timed("queries"):
            rows = await self._query_messages(query)
        return [
            StoredMessage(
                agent_id,
                position,
                self._decode(Message, body),
                datetime.fromtimestamp(created_ms / 1000, UTC),
            )
            for agent_id, position, body, created_ms in rows
        ]

    async def query_tool_calls(
        self, filters: Mapping[str, Any] | None = None, /, **by_name: Any
    ) -> builtins.list[StoredToolCall]:
        """Tool-call records by agent, ``tool_name``, ``state``, ``is_error``, ``has_approval``."""
        query = parse_query(ToolCallQuery, _filters(filters, by_name))
        with self._metrics.timed("queries"):
            rows = await self._query_tool_calls(query)
        return [
            StoredToolCall(agent_id, self._decode(ToolCallRecord, body)) for agent_id, body in rows
        ]

    async def aggregate_stats(self, agent_id: str) -> AgentStats:
        """Exact totals of messages, tool calls and snapshots, and tool calls by name and state."""
        agent_id = check_agent_id(agent_id)
        with self._metrics.timed("queries"):
            return await self._stats(agent_id)

    @abc.abstractmethod
    async def _query_sessions(self, query: SessionQuery) -> builtins.list[str]:
        """Info bodies the query selects, in its order (see :func:`select_sessions`)."""

    @abc.abstractmethod
    async def _query_messages(
        self, query: MessageQuery
    ) -> builtins.list[tuple[str, int, str, int]]:
        """``(agent_id, position, body, created_ms)`` selected (see :func:`select_messages`)."""

    @abc.abstractmethod
    async def _query_tool_calls(self, query: ToolCallQuery) -> builtins.list[tuple[str, str]]:
        """``(agent_id, body)`` the query selects (see :func:`select_tool_calls`)."""

    @abc.abstractmethod
    async def _stats(self, agent_id: str) -> AgentStats:
        """Exact counts for the agent, computed by the engine."""


class ExtendedAgentStore(QueryableAgentStore):
    """A :class:`QueryableAgentStore` with health, consistency, metrics, a lock and fork."""

    async def health_check(self) -> HealthStatus:
        """Time a real round trip to the engine. Never raises for an unreachable engine."""
        started = time.perf_counter()
        checked_at = datetime.now(UTC)
        try:
            await self._ping()
        except KodeError as exc:
            return HealthStatus(False, False, None, checked_at, str(exc))
        latency = (time.perf_counter() - started) * 1000
        return HealthStatus(True, True, latency, checked_at)

    async def check_consistency(self, agent_id: str) -> ConsistencyReport:
        """Find a missing info record, a message-count mismatch, tool calls without id or name."""
        agent_id = check_agent_id(agent_id)
        issues: builtins.list[str] = []
        info = await self.load_info(agent_id)
        stats = await self.aggregate_stats(agent_id)
        if info is None:
            if await self.exists(agent_id):
                issues.append("the info record is missing")
        elif info.message_count != stats.total_messages:
            issues.append(
                f"info.message_count is {info.message_count} "
                f"but {stats.total_messages} messages are stored"
            )
        for index, record in enumerate(await self.load_tool_call_records(agent_id)):
            if not record.id:
                issues.append(f"tool call record {index} has no id")
            if not record.name:
                issues.append(f"tool call record {index} ({record.id!r}) has no name")
        return ConsistencyReport(agent_id, tuple(issues))

    async def metrics(self) -> StoreMetrics:
        """Operations by kind since this store was built, with latency, and the storage size."""
        return self._metrics.snapshot(await self._storage_bytes())

    def acquire_agent_lock(
        self, agent_id: str, timeout: float = DEFAULT_LOCK_TIMEOUT, *, lease: float = DEFAULT_LEASE
    ) -> AgentLock:
        """An async context manager holding the agent's lock across processes and machines.

        It waits up to ``timeout`` seconds for the lock (then raises
        :class:`~kode_core.LockTimeoutError`), renews its ``lease`` while held, and
        its ``token`` strictly increases with every grant for the agent. A holder
        that dies loses the lock when its lease lapses::

            async with store.acquire_agent_lock("agent-1", timeout=5) as lock:
                await write_guarded_by(lock.token)
        """
        # AgentLock checks timeout and lease as it is made, here, before any I/O.
        return AgentLock(
            check_agent_id(agent_id),
            timeout=timeout,
            lease=lease,
            try_acquire=self._timed_try_acquire,
            renew=self._lock_renew,
            release=self._lock_release,
        )

    async def _timed_try_acquire(self, agent_id: str, owner: str, lease_ms: int) -> int | None:
        with self._metrics.timed("locks"):
            return await self._lock_try_acquire(agent_id, owner, lease_ms)

    async def fork(self, agent_id: str, count: int = 1) -> builtins.list[str]:
        """Copy all of the agent's data into ``count`` new agents; return their ids.

        Each fork's lineage is the source's followed by the source's id. The copy is
        one transaction where the engine has them; the source is left unchanged.
        Raises :class:`~kode_core.NotFoundError` if the agent has no info record.
        """
        agent_id = check_agent_id(agent_id)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_FORKS:
            raise InvalidRecordError(
                "count", f"must be an int from 1 to {MAX_FORKS}, got {count!r}"
            )
        info = await self.load_info(agent_id)
        if info is None:
            raise NotFoundError(f"agent {agent_id!r} has no info record to fork from")
        now = datetime.now(UTC)
        targets: builtins.list[InfoRow] = []
        for _ in range(count):
            suffix = f"-fork-{uuid.uuid4().hex[:12]}"
            # A fork id is a valid agent id too: a long source id is cut to make room.
            fork_id = agent_id[: MAX_AGENT_ID_LENGTH - len(suffix)] + suffix
            forked = attrs.evolve(
                info, agent_id=fork_id, lineage=(*info.lineage, agent_id), created_at=now
            )
            targets.append(self._info_row(fork_id, forked))
        with self._metrics.timed("saves"):
            await self._fork(agent_id, targets)
        return [target.agent_id for target in targets]

    @abc.abstractmethod
    async def _ping(self) -> None:
        """One real round trip; raise BackendUnavailableError if the engine is down."""

    @abc.abstractmethod
    async def _storage_bytes(self) -> int | None:
        """Bytes this namespace's agent data takes in the engine (None if the engine cannot say)."""

    @abc.abstractmethod
    async def _lock_try_acquire(self, agent_id: str, owner: str, lease_ms: int) -> int | None:
        """If the agent's lease is free or lapsed, take it for ``owner`` for ``lease_ms``
        and return the next fencing token (a per-agent counter kept by the engine,
        never reset); else None. Atomic in the engine."""

    @abc.abstractmethod
    async def _lock_renew(self, agent_id: str, owner: str, lease_ms: int) -> bool:
        """Extend ``owner``'s lease to ``lease_ms`` from now; False if it is no longer theirs."""

    @abc.abstractmethod
    async def _lock_release(self, agent_id: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it (compare and delete); keep the counter."""

    @abc.abstractmethod
    async def _fork(self, source: str, targets: Sequence[InfoRow]) -> None:
        """Copy every record of ``source`` (messages with their created_ms, tool calls,
        documents of every family, events) to each target agent and store the target's
        info row, in one transaction where the engine has them."""
