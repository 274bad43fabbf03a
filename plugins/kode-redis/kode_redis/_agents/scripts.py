"""The Lua scripts of the ``redis`` agent store: each write is one script, atomic in Redis.

Every write script also adds the agent to the namespace's ``agents`` index, so
the index and the records never disagree. Hash fields are written in chunks of
1,000 arguments (Lua's ``unpack`` has a stack limit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

#: Replace a whole list (messages or tool calls), compare-and-set. KEYS: state, body,
#: versions, agents. ARGV: version field, expected token ('' = never written), new
#: token, agent id, upsert count n, n x (key, state JSON, body), then the keys to
#: delete. Applies only if the family's token is still the one the caller planned
#: from, else returns -1 (the caller reads again and re-plans). Returns the rows
#: written or deleted. A plan with no change leaves the token alone.
REPLACE_LUA = """
local state, body, versions, agents = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local field, expected, token, agent = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if (redis.call('HGET', versions, field) or '') ~= expected then return -1 end
local n = tonumber(ARGV[5])
local states, bodies, doomed = {}, {}, {}
for i = 6, 5 + 3 * n, 3 do
  states[#states + 1] = ARGV[i]
  states[#states + 1] = ARGV[i + 1]
  bodies[#bodies + 1] = ARGV[i]
  bodies[#bodies + 1] = ARGV[i + 2]
end
for i = 6 + 3 * n, #ARGV do doomed[#doomed + 1] = ARGV[i] end
for i = 1, #states, 1000 do
  redis.call('HSET', state, unpack(states, i, math.min(i + 999, #states)))
  redis.call('HSET', body, unpack(bodies, i, math.min(i + 999, #bodies)))
end
for i = 1, #doomed, 1000 do
  redis.call('HDEL', state, unpack(doomed, i, math.min(i + 999, #doomed)))
  redis.call('HDEL', body, unpack(doomed, i, math.min(i + 999, #doomed)))
end
if n + #doomed > 0 then redis.call('HSET', versions, field, token) end
redis.call('ZADD', agents, 0, agent)
return n + #doomed
"""

#: Upsert one document. KEYS: family hash, agents. ARGV: agent id, key, "<sort_ms>:<JSON>".
PUT_DOC_LUA = """
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

#: Replace a document family. KEYS: family hash, agents. ARGV: agent id, (key, value)...
REPLACE_DOCS_LUA = """
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

#: Upsert the info record. KEYS: info, agents. ARGV: agent id, body, template id,
#: created_ms, message count.
SAVE_INFO_LUA = """
redis.call('HSET', KEYS[1], 'body', ARGV[2], 'template_id', ARGV[3],
  'created_ms', ARGV[4], 'message_count', ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

#: Append one event unless its seq is stored. KEYS: bodies, all-events index, channel
#: index, agents. ARGV: agent id, seq member, body. Returns 1 (stored), 0 (the same
#: body was stored: a no-op) or -1 (another body holds that seq: a conflict).
APPEND_EVENT_LUA = """
local stored = redis.call('HGET', KEYS[1], ARGV[2])
if stored then
  if stored == ARGV[3] then return 0 end
  return -1
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
return 1
"""

#: One page of events. KEYS: an index (all events or one channel's), bodies. ARGV:
#: BYLEX lower bound, limit. Returns {members, bodies}, from one moment.
READ_EVENTS_LUA = """
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, ARGV[2])
local bodies = {}
for i = 1, #members, 1000 do
  local chunk = redis.call('HMGET', KEYS[2], unpack(members, i, math.min(i + 999, #members)))
  for j = 1, #chunk do bodies[#bodies + 1] = chunk[j] end
end
return {members, bodies}
"""

#: Delete an agent. KEYS: agents, then every data key of the agent. ARGV: agent id.
DELETE_AGENT_LUA = """
redis.call('DEL', unpack(KEYS, 2))
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""

#: Fork. KEYS: agents, the source's n data keys, then n data keys per target. ARGV: n,
#: position of the info key and of the versions key among the n, a fresh token, then
#: per target: agent id, body, template id, created_ms, message count. Each target
#: gets a copy of every source key (COPY keeps hashes and sorted sets whole, so
#: messages keep their created_ms), its own info, and fresh replace tokens.
FORK_LUA = """
local n, info_at, versions_at, token = tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4]
local target = 0
for a = 5, #ARGV, 5 do
  local base = 1 + n * (target + 1)
  for i = 1, n do
    local source, copy = KEYS[1 + i], KEYS[base + i]
    redis.call('DEL', copy)
    if i ~= info_at and redis.call('EXISTS', source) == 1 then
      redis.call('COPY', source, copy)
    end
  end
  redis.call('HSET', KEYS[base + info_at], 'body', ARGV[a + 1], 'template_id', ARGV[a + 2],
    'created_ms', ARGV[a + 3], 'message_count', ARGV[a + 4])
  redis.call('HSET', KEYS[base + versions_at], 'messages', token, 'tool_calls', token)
  redis.call('ZADD', KEYS[1], 0, ARGV[a])
  target = target + 1
end
return target
"""

#: Take a free or lapsed lease (Redis expires it: the engine's clock) and count the
#: grant. KEYS: lease, fence. ARGV: owner, lease ms. Returns the token, or nil.
LOCK_ACQUIRE_LUA = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
"""

#: Compare and extend. KEYS: lease. ARGV: owner, lease ms. Returns 1 if still the owner's.
LOCK_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

#: Compare and delete. KEYS: lease. ARGV: owner. The fence is left alone.
LOCK_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@attrs.frozen
class AgentScripts:
    """The scripts registered on one client (``EVALSHA``, reloaded after a server restart)."""

    replace: AsyncScript
    put_doc: AsyncScript
    replace_docs: AsyncScript
    save_info: AsyncScript
    append_event: AsyncScript
    read_events: AsyncScript
    delete_agent: AsyncScript
    fork: AsyncScript
    lock_acquire: AsyncScript
    lock_renew: AsyncScript
    lock_release: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> AgentScripts:
        """Register every script on ``client``: no I/O (the digests are computed here)."""
        return cls(
            *(
                client.register_script(text)
                for text in (
                    REPLACE_LUA,
                    PUT_DOC_LUA,
                    REPLACE_DOCS_LUA,
                    SAVE_INFO_LUA,
                    APPEND_EVENT_LUA,
                    READ_EVENTS_LUA,
                    DELETE_AGENT_LUA,
                    FORK_LUA,
                    LOCK_ACQUIRE_LUA,
                    LOCK_RENEW_LUA,
                    LOCK_RELEASE_LUA,
                )
            )
        )
