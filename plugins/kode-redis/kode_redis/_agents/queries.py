"""Queries of the ``redis`` agent store: the core's reference matchers over scanned rows.

Redis has no secondary indexes here, so a query reads the small per-row state
(no bodies) of the agents involved, lets :func:`~kode_core.agents.select_messages` and
its siblings pick the page, then fetches only that page's bodies. With
``agent_id`` the scan is one agent's; without it, every agent of the namespace
is read, in pipelined batches: a cross-agent query costs O(rows in the
namespace) on the server and in this process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from redis.asyncio.cluster import RedisCluster

from kode_core import ConflictError
from kode_core.agents import (
    InfoRow,
    MessageQuery,
    MessageRow,
    SessionQuery,
    ToolCallQuery,
    ToolCallRow,
    select_messages,
    select_sessions,
    select_tool_calls,
)

from .schema import SCAN_COUNT

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .schema import AgentKeys, AgentLayout

#: Agents whose rows one pipelined round trip reads.
BATCH = 200
#: Reads of a query whose page a concurrent save changed before giving up.
ATTEMPTS = 10

_Row = TypeVar("_Row", MessageRow, ToolCallRow)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _batches(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


async def list_agent_ids(client: Redis, layout: AgentLayout, prefix: str | None) -> list[str]:
    """The ids of the namespace's agents starting with ``prefix``, in code point order.

    A ``SCAN`` for their ``listed`` keys, on every primary of a cluster: O(keys in the
    namespace), as no index could share a slot with every agent.
    """
    found = set()
    pattern = layout.listed_pattern(prefix)
    async for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        agent_id = layout.agent_of(_text(key))
        if agent_id is not None and agent_id.startswith(prefix or ""):
            found.add(agent_id)
    return sorted(found)


def _by_agent(selected: list[tuple[str, _Row]]) -> list[list[tuple[str, _Row]]]:
    groups: dict[str, list[tuple[str, _Row]]] = {}
    for member, row in selected:
        groups.setdefault(member, []).append((member, row))
    return list(groups.values())


async def _agent_ids(client: Redis, layout: AgentLayout, agent_id: str | None) -> list[str]:
    if agent_id is not None:
        return [agent_id]
    return await list_agent_ids(client, layout, None)


async def _read_hashes(
    client: Redis, layout: AgentLayout, agent_id: str | None, key: Callable[[AgentKeys], str]
) -> list[tuple[str, dict[str, str]]]:
    """``(agent id, hash)`` of one hash per agent the query involves, batch by batch."""
    found = []
    for batch in _batches(await _agent_ids(client, layout, agent_id)):
        async with client.pipeline(transaction=False) as pipe:
            for member in batch:
                pipe.hgetall(key(layout.agent(member)))
            hashes = await pipe.execute()
        for member, stored in zip(batch, hashes, strict=True):
            if stored:
                found.append((member, {_text(k): _text(v) for k, v in stored.items()}))
    return found


async def query_sessions(client: Redis, layout: AgentLayout, query: SessionQuery) -> list[str]:
    """Info bodies :func:`~kode_core.agents.select_sessions` picks (each info hash read whole)."""
    rows = [
        InfoRow(
            agent_id,
            info["template_id"],
            int(info["created_ms"]),
            int(info["message_count"]),
            info["body"],
        )
        for agent_id, info in await _read_hashes(client, layout, query.agent_id, _info_key)
    ]
    return [row.body for row in select_sessions(query, rows)]


def _info_key(keys: AgentKeys) -> str:
    return keys.info


async def query_messages(
    client: Redis, layout: AgentLayout, query: MessageQuery
) -> list[tuple[str, int, str, int]]:
    """``(agent_id, position, body, created_ms)`` that
    :func:`~kode_core.agents.select_messages` picks."""

    def row_of(key: str, state: list[Any]) -> MessageRow:
        digest, created_ms, role, content_types = state
        return MessageRow(int(key), digest, "", role, tuple(content_types), created_ms)

    def select(rows: list[tuple[str, MessageRow]]) -> list[tuple[str, MessageRow]]:
        return select_messages(query, rows)

    picked = await _pick(client, layout, query.agent_id, "message", row_of, select)
    return [(agent_id, row.position, body, row.created_ms) for agent_id, row, body in picked]


async def query_tool_calls(
    client: Redis, layout: AgentLayout, query: ToolCallQuery
) -> list[tuple[str, str]]:
    """``(agent_id, body)`` :func:`~kode_core.agents.select_tool_calls` picks."""

    def row_of(key: str, state: list[Any]) -> ToolCallRow:
        digest, created_ms, position, name, call_state, is_error, has_approval, updated_ms = state
        return ToolCallRow(
            position=position,
            id=key,
            name=name,
            state=call_state,
            is_error=is_error,
            has_approval=has_approval,
            created_ms=created_ms,
            updated_ms=updated_ms,
            digest=digest,
            body="",
        )

    def select(rows: list[tuple[str, ToolCallRow]]) -> list[tuple[str, ToolCallRow]]:
        return select_tool_calls(query, rows)

    picked = await _pick(client, layout, query.agent_id, "tool", row_of, select)
    return [(agent_id, body) for agent_id, _, body in picked]


async def _pick(
    client: Redis,
    layout: AgentLayout,
    agent_id: str | None,
    family: str,
    row_of: Callable[[str, list[Any]], _Row],
    select: Callable[[list[tuple[str, _Row]]], list[tuple[str, _Row]]],
) -> list[tuple[str, _Row, str]]:
    """The selected rows with their bodies, consistent with the states they were picked by.

    The states and the page's bodies are two reads; the second (one ``MULTI``, or on
    a cluster one per agent: never across slots) reads each picked row's state again
    with its body, and if a save changed any of them
    in between, the query runs again on fresh states.
    """

    def state_key(keys: AgentKeys) -> str:
        return keys.message_state if family == "message" else keys.tool_state

    def body_key(keys: AgentKeys) -> str:
        return keys.message_body if family == "message" else keys.tool_body

    for _ in range(ATTEMPTS):
        rows, raw = [], {}
        for member, states in await _read_hashes(client, layout, agent_id, state_key):
            for key, value in states.items():
                rows.append((member, row_of(key, json.loads(value))))
                raw[member, key] = value
        selected = select(rows)
        if not selected:
            return []
        fetched: list[Any] = []
        # One MULTI per slot: all of them on one server, each agent's on a cluster.
        groups = _by_agent(selected) if isinstance(client, RedisCluster) else [selected]
        for group in groups:
            async with client.pipeline(transaction=True) as pipe:
                for member, row in group:
                    keys = layout.agent(member)
                    pipe.hget(state_key(keys), str(row.key))
                    pipe.hget(body_key(keys), str(row.key))
                fetched += await pipe.execute()
        selected = [pair for group in groups for pair in group]
        bodies = fetched[1::2]
        if all(
            state is not None and _text(state) == raw[member, str(row.key)]
            for (member, row), state in zip(selected, fetched[::2], strict=True)
        ):
            return [
                (member, row, _text(body))
                for (member, row), body in zip(selected, bodies, strict=True)
            ]
    raise ConflictError(f"redis: a {family} query kept losing its page to concurrent saves")
