"""The key layout of the ``redis`` agent store and its schema version.

The agent store keeps its own layout version, in the field
``agents_schema_version`` of the namespace's ``kode:<ns>:meta`` hash (the
session store's ``schema_version`` sits beside it; see :mod:`kode_redis._schema`),
so each family migrates on its own. Every key of one agent carries the hash tag
``{<A>}``, ``A`` being the agent id escaped like every caller-supplied key part
(``%``, ``:``, ``{``, ``}`` never occur in it), so one agent's keys share one
Redis Cluster slot and every script touches that slot alone. There is no
namespace-wide index (it would live in another slot than the agent, so no script
could keep it in step): the ``listed`` key, written by every write script with the
data, says the agent exists, and listings ``SCAN`` for it on every primary::

    kode:<ns>:agent:{A}:m:state      HASH   position -> JSON [digest, created_ms, role, types]
    kode:<ns>:agent:{A}:m:body       HASH   position -> message JSON
    kode:<ns>:agent:{A}:t:state      HASH   tool-call id -> JSON [digest, created_ms,
                                            position, name, state, is_error, has_approval,
                                            updated_ms]
    kode:<ns>:agent:{A}:t:body       HASH   tool-call id -> record JSON
    kode:<ns>:agent:{A}:ver          HASH   messages / tool_calls -> token of the last replace
    kode:<ns>:agent:{A}:d:<family>   HASH   document key -> "<sort_ms>:<JSON>"
    kode:<ns>:agent:{A}:ev:body      HASH   seq -> event JSON
    kode:<ns>:agent:{A}:ev:all       ZSET   seq member (see :func:`seq_member`), score 0
    kode:<ns>:agent:{A}:ev:<channel> ZSET   the same, for one channel
    kode:<ns>:agent:{A}:info         HASH   body, template_id, created_ms, message_count
    kode:<ns>:agent:{A}:listed       STRING "1": the agent has data (what listings find)
    kode:<ns>:agent:{A}:lease        STRING lock owner, with the lease as its PX expiry
    kode:<ns>:agent:{A}:fence        STRING the lock's fencing counter (INCR)

The lease and the fence are not agent data: deleting an agent keeps the fence,
so fencing tokens never repeat for an agent id.

Version 1 kept the ids in a sorted set ``kode:<ns>:agents`` instead of ``listed``
keys (updated by the same scripts, which a cluster refuses as ``CROSSSLOT``); the
migration to version 2 writes a ``listed`` key per id in it, then drops it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kode_core.agents import DocFamily, EventChannel

from .._schema import RedisSchema, escape, unescape

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Ids whose ``listed`` keys one pipelined round trip of the migration writes.
_MIGRATION_BATCH = 500
#: Keys one ``SCAN`` step looks at, on each primary.
SCAN_COUNT = 1000
_GLOB_SPECIALS = str.maketrans({c: f"\\{c}" for c in "*?[]\\"})


async def _index_to_listed_keys(client: Redis, namespace: str) -> None:
    """Version 1 -> 2: a ``listed`` key per id of the old index, then drop the index.

    Idempotent: a step cut short is run again by the next first user.
    """
    layout = AgentLayout(namespace)
    index = f"kode:{namespace}:agents"
    ids = [str(member) for member in await client.zrange(index, 0, -1)]
    for start in range(0, len(ids), _MIGRATION_BATCH):
        async with client.pipeline(transaction=False) as pipe:
            for agent_id in ids[start : start + _MIGRATION_BATCH]:
                pipe.set(layout.agent(agent_id).listed, "1")
            await pipe.execute()
    await client.delete(index)


#: The agent-store keys, checked by :func:`~kode_redis._schema.ensure_schema`: version 2
#: lists agents by their ``listed`` keys (see above).
AGENTS = RedisSchema("agents", 2, {2: _index_to_listed_keys})

FAMILIES = tuple(DocFamily)
CHANNELS = tuple(channel.value for channel in EventChannel)


def seq_member(seq: int) -> str:
    """An event's seq as a sorted-set member whose byte order is the numeric order.

    Scores are doubles, exact only below 2**53, so events are ordered BYLEX on
    ``<digit count, 3 digits><digits>``: shorter numbers sort first, equal lengths
    compare digit by digit.
    """
    digits = str(seq)
    return f"{len(digits):03d}{digits}"


def seq_of(member: str) -> int:
    """The seq :func:`seq_member` made ``member`` from."""
    return int(member[3:])


@attrs.frozen
class AgentKeys:
    """The keys of one agent's records."""

    base: str

    def _key(self, suffix: str) -> str:
        return f"{self.base}:{suffix}"

    @property
    def message_state(self) -> str:
        return self._key("m:state")

    @property
    def message_body(self) -> str:
        return self._key("m:body")

    @property
    def tool_state(self) -> str:
        return self._key("t:state")

    @property
    def tool_body(self) -> str:
        return self._key("t:body")

    def state(self, field: str) -> str:
        """The state hash of a whole-list family (``messages`` or ``tool_calls``)."""
        return self.message_state if field == "messages" else self.tool_state

    @property
    def versions(self) -> str:
        return self._key("ver")

    def docs(self, family: DocFamily) -> str:
        return self._key(f"d:{family.value}")

    @property
    def event_body(self) -> str:
        return self._key("ev:body")

    def events(self, channel: str | None = None) -> str:
        """The seq index of every event, or of one channel's."""
        return self._key(f"ev:{channel or 'all'}")

    @property
    def info(self) -> str:
        return self._key("info")

    @property
    def lease(self) -> str:
        return self._key("lease")

    @property
    def fence(self) -> str:
        return self._key("fence")

    @property
    def listed(self) -> str:
        """Exists while the agent has data: what listings and ``exists`` look for."""
        return self._key("listed")

    @property
    def data(self) -> tuple[str, ...]:
        """Every key holding the agent's records (not its lease or fence), in a fixed order."""
        return (
            self.message_state,
            self.message_body,
            self.tool_state,
            self.tool_body,
            self.versions,
            *(self.docs(family) for family in FAMILIES),
            self.event_body,
            self.events(),
            *(self.events(channel) for channel in CHANNELS),
            self.info,
            self.listed,
        )


@attrs.frozen
class AgentLayout:
    """Maps a namespace and agent ids to Redis key names."""

    namespace: str

    def listed_pattern(self, prefix: str | None = None) -> str:
        """A ``SCAN MATCH`` pattern for the ``listed`` keys of the ids starting with
        ``prefix`` (and maybe more: check each with :meth:`agent_of`)."""
        start = escape(prefix or "").translate(_GLOB_SPECIALS)
        return f"kode:{self.namespace}:agent:{{{start}*}}:listed"

    def agent_of(self, listed_key: str) -> str | None:
        """The agent id whose ``listed`` key is ``listed_key``, or None if it is not one."""
        head, tail = f"kode:{self.namespace}:agent:{{", "}:listed"
        if not (listed_key.startswith(head) and listed_key.endswith(tail)):
            return None
        inner = listed_key[len(head) : -len(tail)]
        if any(char in inner for char in ":{}"):
            return None
        return unescape(inner)

    def agent(self, agent_id: str) -> AgentKeys:
        return AgentKeys(f"kode:{self.namespace}:agent:{{{escape(agent_id)}}}")
