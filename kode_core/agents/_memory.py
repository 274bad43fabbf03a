"""The ``memory`` backend's agent store: the executable reference of the agent-store contract."""

from __future__ import annotations

import bisect
import builtins
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

import attrs

from .._options import BackendOptions
from ..memory import MemoryBackend
from ._options import AgentOptions
from ._queries import (
    MessageQuery,
    SessionQuery,
    ToolCallQuery,
    select_messages,
    select_sessions,
    select_tool_calls,
)
from ._results import AgentStats
from ._rows import (
    Doc,
    DocFamily,
    InfoRow,
    MessageRow,
    StoredRowState,
    ToolCallRow,
    plan_replace,
)
from ._store import event_conflict
from ._store_extended import ExtendedAgentStore


@attrs.define
class _Agent:
    messages: dict[int, MessageRow] = attrs.Factory(dict)
    tool_calls: dict[str, ToolCallRow] = attrs.Factory(dict)
    docs: dict[DocFamily, dict[str, Doc]] = attrs.Factory(dict)
    event_seqs: list[int] = attrs.Factory(list)
    events: dict[int, tuple[str, str]] = attrs.Factory(dict)
    info: InfoRow | None = None
    messages_token: str | None = None  # set by every write of the messages

    def copy(self, info: InfoRow) -> _Agent:
        return _Agent(
            dict(self.messages),
            dict(self.tool_calls),
            {family: dict(docs) for family, docs in self.docs.items()},
            list(self.event_seqs),
            dict(self.events),
            info,
        )


@attrs.define
class _Lease:
    owner: str | None = None
    expires: float = 0.0
    token: int = 0


#: The memory backend's layout has one version: there is nothing stored to migrate.
SCHEMA_VERSION = 1


@attrs.define
class AgentData:
    """One namespace's agents, and the lock leases (kept across delete, like every engine)."""

    agents: dict[str, _Agent] = attrs.Factory(dict)
    leases: dict[str, _Lease] = attrs.Factory(dict)


_Row = TypeVar("_Row", MessageRow, ToolCallRow)


def _replace(table: dict[Any, _Row], rows: Sequence[_Row]) -> int:
    """Apply :func:`plan_replace` to one agent's rows keyed by ``row.key``."""
    existing = {key: StoredRowState(row.digest, row.created_ms) for key, row in table.items()}
    plan = plan_replace(existing, rows)
    for row in plan.upserts:
        table[row.key] = row
    for key in plan.deletes:
        del table[key]
    return plan.write_count


class MemoryAgentStore(ExtendedAgentStore):
    """Agent runtime state in dictionaries of this process.

    No primitive awaits between reading and writing, so each is atomic on the
    event loop. The lock works between tasks of this process only.
    """

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: AgentOptions
    ) -> None:
        super().__init__(options, settings)
        self._data = backend.namespace_data("agents", options.namespace, AgentData)

    def __repr__(self) -> str:
        return f"<MemoryAgentStore namespace={self.namespace!r}>"

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION  # dictionaries are always at the current layout

    def _agent(self, agent_id: str) -> _Agent:
        return self._data.agents.setdefault(agent_id, _Agent())

    def _found(self, agent_id: str) -> _Agent:
        return self._data.agents.get(agent_id) or _Agent()

    async def _migrate(self) -> None:
        pass  # nothing outlives the process, so there is no schema to keep

    _patches_messages = True

    async def _save_messages(
        self,
        agent_id: str,
        rows: Sequence[MessageRow],
        *,
        base: str | None,
        token: str | None,
        length: int,
    ) -> int | None:
        agent = self._agent(agent_id)
        messages = agent.messages
        if base is None:
            written = _replace(messages, rows)
        elif agent.messages_token != base:
            return None
        else:  # positions run from 0 without a gap: the list's length is len(messages)
            for row in rows:
                messages[row.position] = row
            gone = range(length, len(messages))
            for position in gone:
                del messages[position]
            written = len(rows) + len(gone)
        agent.messages_token = token
        return written

    async def _replace_messages(self, agent_id: str, rows: Sequence[MessageRow]) -> int:
        agent = self._agent(agent_id)
        agent.messages_token = None
        return _replace(agent.messages, rows)

    async def _load_messages(self, agent_id: str) -> builtins.list[str]:
        messages = self._found(agent_id).messages
        return [messages[position].body for position in sorted(messages)]

    async def _replace_tool_calls(self, agent_id: str, rows: Sequence[ToolCallRow]) -> int:
        return _replace(self._agent(agent_id).tool_calls, rows)

    async def _load_tool_calls(self, agent_id: str) -> builtins.list[str]:
        calls = self._found(agent_id).tool_calls.values()
        return [row.body for row in sorted(calls, key=lambda row: row.position)]

    async def _put_doc(self, agent_id: str, family: DocFamily, doc: Doc) -> None:
        self._agent(agent_id).docs.setdefault(family, {})[doc.key] = doc

    async def _replace_docs(self, agent_id: str, family: DocFamily, docs: Sequence[Doc]) -> None:
        self._agent(agent_id).docs[family] = {doc.key: doc for doc in docs}

    async def _get_doc(self, agent_id: str, family: DocFamily, key: str) -> str | None:
        doc = self._found(agent_id).docs.get(family, {}).get(key)
        return None if doc is None else doc.body

    async def _list_docs(self, agent_id: str, family: DocFamily) -> builtins.list[str]:
        docs = self._found(agent_id).docs.get(family, {}).values()
        return [doc.body for doc in sorted(docs, key=lambda doc: (doc.sort_ms, doc.key))]

    async def _append_event(self, agent_id: str, seq: int, channel: str, body: str) -> None:
        agent = self._agent(agent_id)
        stored = agent.events.get(seq)
        if stored is not None:
            if stored[1] != body:
                raise event_conflict(agent_id, seq)
            return
        agent.events[seq] = (channel, body)
        bisect.insort(agent.event_seqs, seq)

    async def _read_events(
        self, agent_id: str, after: int, channel: str | None, limit: int
    ) -> builtins.list[tuple[int, str]]:
        agent = self._found(agent_id)
        page: builtins.list[tuple[int, str]] = []
        for seq in agent.event_seqs[bisect.bisect_right(agent.event_seqs, after) :]:
            event_channel, body = agent.events[seq]
            if channel is None or event_channel == channel:
                page.append((seq, body))
                if len(page) == limit:
                    break
        return page

    async def _save_info(self, row: InfoRow) -> None:
        self._agent(row.agent_id).info = row

    async def _load_info(self, agent_id: str) -> str | None:
        info = self._found(agent_id).info
        return None if info is None else info.body

    async def _exists(self, agent_id: str) -> bool:
        return agent_id in self._data.agents

    async def _delete_agent(self, agent_id: str) -> None:
        self._data.agents.pop(agent_id, None)

    async def _list_agents(self, prefix: str | None) -> builtins.list[str]:
        return sorted(a for a in self._data.agents if prefix is None or a.startswith(prefix))

    async def _query_sessions(self, query: SessionQuery) -> builtins.list[str]:
        rows = [agent.info for agent in self._data.agents.values() if agent.info is not None]
        return [row.body for row in select_sessions(query, rows)]

    async def _query_messages(
        self, query: MessageQuery
    ) -> builtins.list[tuple[str, int, str, int]]:
        rows = [
            (agent_id, row)
            for agent_id, agent in self._data.agents.items()
            for row in agent.messages.values()
        ]
        return [
            (agent_id, row.position, row.body, row.created_ms)
            for agent_id, row in select_messages(query, rows)
        ]

    async def _query_tool_calls(self, query: ToolCallQuery) -> builtins.list[tuple[str, str]]:
        rows = [
            (agent_id, row)
            for agent_id, agent in self._data.agents.items()
            for row in agent.tool_calls.values()
        ]
        return [(agent_id, row.body) for agent_id, row in select_tool_calls(query, rows)]

    async def _stats(self, agent_id: str) -> AgentStats:
        agent = self._found(agent_id)
        calls = agent.tool_calls.values()
        return AgentStats(
            agent_id,
            total_messages=len(agent.messages),
            total_tool_calls=len(calls),
            total_snapshots=len(agent.docs.get(DocFamily.SNAPSHOTS, {})),
            tool_calls_by_name=dict(Counter(row.name for row in calls)),
            tool_calls_by_state=dict(Counter(row.state for row in calls)),
        )

    async def _ping(self) -> None:
        pass  # the data is in this process: the round trip is a function call

    async def _storage_bytes(self) -> int | None:
        total = 0
        for agent in self._data.agents.values():
            total += sum(len(row.body) for row in agent.messages.values())
            total += sum(len(row.body) for row in agent.tool_calls.values())
            total += sum(len(doc.body) for docs in agent.docs.values() for doc in docs.values())
            total += sum(len(body) for _, body in agent.events.values())
            total += len(agent.info.body) if agent.info else 0
        return total

    async def _lock_try_acquire(self, agent_id: str, owner: str, lease_ms: int) -> int | None:
        lease = self._data.leases.setdefault(agent_id, _Lease())
        now = time.monotonic()
        if lease.owner is not None and lease.expires > now:
            return None
        lease.owner, lease.expires = owner, now + lease_ms / 1000
        lease.token += 1
        return lease.token

    async def _lock_renew(self, agent_id: str, owner: str, lease_ms: int) -> bool:
        lease = self._data.leases.get(agent_id)
        if lease is None or lease.owner != owner:
            return False
        lease.expires = time.monotonic() + lease_ms / 1000
        return True

    async def _lock_release(self, agent_id: str, owner: str) -> None:
        lease = self._data.leases.get(agent_id)
        if lease is not None and lease.owner == owner:
            lease.owner = None

    async def _fork(self, source: str, targets: Sequence[InfoRow]) -> None:
        agent = self._found(source)
        for target in targets:
            self._data.agents[target.agent_id] = agent.copy(target)
