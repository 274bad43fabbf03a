"""The agent runtime store on Redis: hashes per agent, every write one Lua script."""

from __future__ import annotations

import builtins
import json
import random
import uuid
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from kode_core import ConflictError
from kode_core.agents import (
    AgentOptions,
    AgentStats,
    Doc,
    DocFamily,
    ExtendedAgentStore,
    InfoRow,
    MessageQuery,
    MessageRow,
    SessionQuery,
    StoredRowState,
    ToolCallQuery,
    ToolCallRow,
    event_conflict,
    plan_replace,
)

from .._backend import RedisBackend
from .._options import RedisOptions
from .fork import fork_across_slots, fork_in_one_script
from .queries import list_agent_ids, query_messages, query_sessions, query_tool_calls
from .schema import AGENTS, AgentKeys, AgentLayout, seq_member, seq_of
from .scripts import AgentScripts

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Compare-and-set replaces lost to concurrent writers of the same agent before giving up.
MAX_ATTEMPTS = 100
#: Lists whose last written state a store remembers; the oldest is forgotten beyond this.
MAX_REMEMBERED = 256
_REFUSED = -1


#: A family's replace token and ``key -> state`` of its stored rows.
_Snapshot = tuple[str, dict[object, StoredRowState]]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def message_state(row: MessageRow) -> str:
    """What the replace plan and the message queries need of a row, without its body."""
    return json.dumps([row.digest, row.created_ms, row.role, list(row.content_types)])


def tool_call_state(row: ToolCallRow) -> str:
    """What the replace plan, loads and the tool-call queries need of a row."""
    return json.dumps(
        [
            row.digest,
            row.created_ms,
            row.position,
            row.name,
            row.state,
            row.is_error,
            row.has_approval,
            row.updated_ms,
        ]
    )


class RedisAgentStore(ExtendedAgentStore):
    """Agent runtime stores in one namespace of a Redis server.

    A whole-list save (messages, tool calls) reads the family's stored digests
    and replace token in one ``MULTI``, plans with :func:`~kode_core.agents.plan_replace`,
    and runs one script that applies the plan only if the token is unchanged
    (compare-and-set), writing only the plan's rows; a writer that lost the race
    reads again. Concurrent savers of one agent therefore end with exactly one
    writer's full list, and the check runs in the engine, across processes.
    """

    def __init__(
        self, backend: RedisBackend, options: RedisOptions, settings: AgentOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, AGENTS)
        self._layout = AgentLayout(options.namespace)
        # (agent, family) -> the token and row states this store wrote last, so the next
        # save of a single writer plans without reading them (the script checks the token).
        self._written: dict[tuple[str, str], _Snapshot] = {}

    def __repr__(self) -> str:
        return f"<RedisAgentStore namespace={self.namespace!r} backend={self._backend!r}>"

    async def _ready(self) -> tuple[Redis, AgentScripts]:
        """The shared client, once the namespace's agent layout is checked, and the scripts."""
        client = await self._backend.client(self.namespace, AGENTS)
        return client, self._backend.scripts(AgentScripts.register)

    def _keys(self, agent_id: str) -> AgentKeys:
        return self._layout.agent(agent_id)

    # -- whole lists: messages and tool calls ------------------------------------------

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
        keys = self._keys(agent_id)
        hashes = (keys.message_state, keys.message_body)
        if base is None:
            return await self._replace(
                agent_id, "messages", hashes, rows, int, message_state, token
            )
        self._written.pop((agent_id, "messages"), None)  # this write moves the token on
        _, scripts = await self._ready()
        args: list[str | int] = [base, token or uuid.uuid4().hex, length, len(rows)]
        for row in rows:
            args += [row.position, message_state(row), row.body]
        with self._backend.errors():
            written = int(
                await scripts.patch_messages(keys=[*hashes, keys.versions, keys.listed], args=args)
            )
        return None if written == _REFUSED else written

    async def _replace_messages(self, agent_id: str, rows: Sequence[MessageRow]) -> int:
        return (
            await self._save_messages(agent_id, rows, base=None, token=None, length=len(rows)) or 0
        )

    async def _replace_tool_calls(self, agent_id: str, rows: Sequence[ToolCallRow]) -> int:
        keys = self._keys(agent_id)
        return await self._replace(
            agent_id, "tool_calls", (keys.tool_state, keys.tool_body), rows, str, tool_call_state
        )

    async def _replace(
        self,
        agent_id: str,
        field: str,
        hashes: tuple[str, str],
        rows: Sequence[Any],
        key_of: Callable[[str], object],
        state_of: Callable[[Any], str],
        new_token: str | None = None,
    ) -> int:
        """Replace the family's list, compare-and-set; a write sets its token to
        ``new_token`` (a fresh one per attempt if None)."""
        client, scripts = await self._ready()
        keys = self._keys(agent_id)
        script_keys = [*hashes, keys.versions, keys.listed]
        remembered = self._written.pop((agent_id, field), None)
        with self._backend.errors():
            for attempt in range(MAX_ATTEMPTS):
                guess, remembered = remembered, None  # one guess: after a refusal, read
                token, existing = guess or await self._stored_states(
                    client, agent_id, field, key_of
                )
                plan = plan_replace(existing, rows)
                fresh = new_token or uuid.uuid4().hex  # a refused write wrote nothing
                args: list[str | int] = [field, token, fresh, agent_id, len(plan.upserts)]
                for row in plan.upserts:
                    args += [str(row.key), state_of(row), row.body]
                args += [str(key) for key in plan.deletes]
                written = int(await scripts.replace(keys=script_keys, args=args))
                if written != _REFUSED:
                    dropped = set(plan.deletes)
                    after = {k: v for k, v in existing.items() if k not in dropped}
                    after.update(
                        (r.key, StoredRowState(r.digest, r.created_ms)) for r in plan.upserts
                    )
                    self._remember((agent_id, field), (fresh if written else token, after))
                    return written
                if guess is not None:
                    continue  # the guess was stale, not a race: read the engine at once
                # Jittered, growing pause so racing writers stop colliding.
                await anyio.sleep(random.uniform(0, min(0.05, 0.0005 * 2 ** min(attempt, 10))))
        raise ConflictError(
            f"redis: replacing the {field} of agent {agent_id!r} lost {MAX_ATTEMPTS} "
            "compare-and-set rounds to concurrent writers",
            agent_id=agent_id,
        )

    async def _stored_states(
        self, client: Redis, agent_id: str, field: str, key_of: Callable[[str], object]
    ) -> _Snapshot:
        keys = self._keys(agent_id)
        # MULTI/EXEC: the token and the digests come from the same moment.
        async with client.pipeline(transaction=True) as pipe:
            pipe.hget(keys.versions, field)
            pipe.hgetall(keys.state(field))
            token, stored = await pipe.execute()
        existing = {}
        for key, value in stored.items():
            digest, created_ms = json.loads(value)[:2]
            existing[key_of(_text(key))] = StoredRowState(digest, created_ms)
        return _text(token or ""), existing

    def _remember(self, key: tuple[str, str], snapshot: _Snapshot) -> None:
        if len(self._written) >= MAX_REMEMBERED:
            del self._written[next(iter(self._written))]  # the oldest
        self._written[key] = snapshot

    async def _load_messages(self, agent_id: str) -> builtins.list[str]:
        client, _ = await self._ready()
        with self._backend.errors():
            bodies = await client.hgetall(self._keys(agent_id).message_body)
        ordered = sorted((int(_text(position)), _text(body)) for position, body in bodies.items())
        return [body for _, body in ordered]

    async def _load_tool_calls(self, agent_id: str) -> builtins.list[str]:
        client, _ = await self._ready()
        keys = self._keys(agent_id)
        with self._backend.errors():
            async with client.pipeline(transaction=True) as pipe:
                pipe.hgetall(keys.tool_state)
                pipe.hgetall(keys.tool_body)
                states, bodies = await pipe.execute()
        by_id = {_text(key): _text(body) for key, body in bodies.items()}
        positions = sorted((json.loads(value)[2], _text(key)) for key, value in states.items())
        return [by_id[key] for _, key in positions]

    # -- documents ------------------------------------------------------------------------

    async def _put_doc(self, agent_id: str, family: DocFamily, doc: Doc) -> None:
        _, scripts = await self._ready()
        keys = [self._keys(agent_id).docs(family), self._keys(agent_id).listed]
        with self._backend.errors():
            await scripts.put_doc(keys=keys, args=[agent_id, doc.key, f"{doc.sort_ms}:{doc.body}"])

    async def _replace_docs(self, agent_id: str, family: DocFamily, docs: Sequence[Doc]) -> None:
        _, scripts = await self._ready()
        keys = [self._keys(agent_id).docs(family), self._keys(agent_id).listed]
        args = [agent_id]
        for doc in docs:
            args += [doc.key, f"{doc.sort_ms}:{doc.body}"]
        with self._backend.errors():
            await scripts.replace_docs(keys=keys, args=args)

    async def _get_doc(self, agent_id: str, family: DocFamily, key: str) -> str | None:
        client, _ = await self._ready()
        with self._backend.errors():
            value = await client.hget(self._keys(agent_id).docs(family), key)
        return None if value is None else _text(value).partition(":")[2]

    async def _list_docs(self, agent_id: str, family: DocFamily) -> builtins.list[str]:
        client, _ = await self._ready()
        with self._backend.errors():
            stored = await client.hgetall(self._keys(agent_id).docs(family))
        docs = []
        for key, value in stored.items():
            sort_ms, _, body = _text(value).partition(":")
            docs.append((int(sort_ms), _text(key), body))
        # Python compares str by code point, as the contract orders keys.
        return [body for _, _, body in sorted(docs)]

    # -- events -----------------------------------------------------------------------------

    async def _append_event(self, agent_id: str, seq: int, channel: str, body: str) -> None:
        _, scripts = await self._ready()
        keys = self._keys(agent_id)
        script_keys = [keys.event_body, keys.events(), keys.events(channel), keys.listed]
        with self._backend.errors():
            result = await scripts.append_event(
                keys=script_keys, args=[agent_id, seq_member(seq), body]
            )
        if int(result) == _REFUSED:
            raise event_conflict(agent_id, seq)

    async def _read_events(
        self, agent_id: str, after: int, channel: str | None, limit: int
    ) -> builtins.list[tuple[int, str]]:
        members, bodies = await self._members_and_bodies(agent_id, after, channel, limit)
        return [
            (seq_of(_text(member)), _text(body))
            for member, body in zip(members, bodies, strict=True)
        ]

    async def _event_pages(
        self, agent_id: str, after: int, channel: str | None, page_size: int
    ) -> AsyncGenerator[builtins.list[str], None]:
        while True:
            members, bodies = await self._members_and_bodies(agent_id, after, channel, page_size)
            if bodies:
                yield [_text(body) for body in bodies]
            if len(members) < page_size:
                return
            after = seq_of(_text(members[-1]))

    async def _members_and_bodies(
        self, agent_id: str, after: int, channel: str | None, limit: int
    ) -> tuple[builtins.list[Any], builtins.list[Any]]:
        """The members and bodies of up to ``limit`` events after ``after``: one script."""
        _, scripts = await self._ready()
        keys = self._keys(agent_id)
        lower = "-" if after < 0 else f"({seq_member(after)}"
        with self._backend.errors():
            members, bodies = await self._backend.run_script(
                scripts.read_events, [keys.events(channel), keys.event_body], [lower, limit]
            )
        return members, bodies

    # -- info and lifecycle ------------------------------------------------------------------

    async def _save_info(self, row: InfoRow) -> None:
        _, scripts = await self._ready()
        keys = [self._keys(row.agent_id).info, self._keys(row.agent_id).listed]
        args: list[str | int] = [row.agent_id, row.body, row.template_id, row.created_ms]
        args.append(row.message_count)
        with self._backend.errors():
            await scripts.save_info(keys=keys, args=args)

    async def _load_info(self, agent_id: str) -> str | None:
        client, _ = await self._ready()
        with self._backend.errors():
            body = await client.hget(self._keys(agent_id).info, "body")
        return None if body is None else _text(body)

    async def _exists(self, agent_id: str) -> bool:
        client, _ = await self._ready()
        with self._backend.errors():
            return bool(await client.exists(self._keys(agent_id).listed))

    async def _delete_agent(self, agent_id: str) -> None:
        for field in ("messages", "tool_calls"):
            self._written.pop((agent_id, field), None)
        _, scripts = await self._ready()
        with self._backend.errors():
            await scripts.delete_agent(keys=list(self._keys(agent_id).data))

    async def _list_agents(self, prefix: str | None) -> builtins.list[str]:
        client, _ = await self._ready()
        with self._backend.errors():
            return await list_agent_ids(client, self._layout, prefix)

    async def _fork(self, source: str, targets: Sequence[InfoRow]) -> None:
        _, scripts = await self._ready()
        with self._backend.errors():
            if self._backend.is_cluster:
                await fork_across_slots(scripts, self._layout, source, targets)
            else:
                await fork_in_one_script(scripts, self._layout, source, targets)

    # -- queries, stats, health, storage ----------------------------------------------------

    async def _query_sessions(self, query: SessionQuery) -> builtins.list[str]:
        client, _ = await self._ready()
        with self._backend.errors():
            return await query_sessions(client, self._layout, query)

    async def _query_messages(
        self, query: MessageQuery
    ) -> builtins.list[tuple[str, int, str, int]]:
        client, _ = await self._ready()
        with self._backend.errors():
            return await query_messages(client, self._layout, query)

    async def _query_tool_calls(self, query: ToolCallQuery) -> builtins.list[tuple[str, str]]:
        client, _ = await self._ready()
        with self._backend.errors():
            return await query_tool_calls(client, self._layout, query)

    async def _stats(self, agent_id: str) -> AgentStats:
        client, _ = await self._ready()
        keys = self._keys(agent_id)
        with self._backend.errors():
            async with client.pipeline(transaction=True) as pipe:
                pipe.hlen(keys.message_state)
                pipe.hvals(keys.tool_state)
                pipe.hlen(keys.docs(DocFamily.SNAPSHOTS))
                messages, tool_states, snapshots = await pipe.execute()
        names: Counter[str] = Counter()
        states: Counter[str] = Counter()
        for value in tool_states:
            state = json.loads(value)
            names[state[3]] += 1
            states[state[4]] += 1
        return AgentStats(
            agent_id, int(messages), len(tool_states), int(snapshots), dict(names), dict(states)
        )

    async def _ping(self) -> None:
        await self._backend.ping()

    async def _storage_bytes(self) -> int | None:
        # Redis can only size one key at a time (MEMORY USAGE, itself sampling), and a
        # namespace's agent data is ~17 keys per agent: summing them is O(agents) round
        # trips of work on the server, too slow to run on every metrics() call, and
        # INFO memory covers the whole server, not this namespace. So: unknown.
        return None

    # -- the lock -------------------------------------------------------------------------

    async def _lock_try_acquire(self, agent_id: str, owner: str, lease_ms: int) -> int | None:
        _, scripts = await self._ready()
        keys = self._keys(agent_id)
        with self._backend.errors():
            token = await scripts.lock_acquire(
                keys=[keys.lease, keys.fence], args=[owner, lease_ms]
            )
        return None if token is None else int(token)

    async def _lock_renew(self, agent_id: str, owner: str, lease_ms: int) -> bool:
        _, scripts = await self._ready()
        with self._backend.errors():
            renewed = await scripts.lock_renew(
                keys=[self._keys(agent_id).lease], args=[owner, lease_ms]
            )
        return int(renewed) == 1

    async def _lock_release(self, agent_id: str, owner: str) -> None:
        _, scripts = await self._ready()
        with self._backend.errors():
            await scripts.lock_release(keys=[self._keys(agent_id).lease], args=[owner])
