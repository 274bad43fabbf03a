"""The Lua scripts of the ``redis`` agent store: each write is one script, atomic in Redis.

Every script touches one agent's keys only (one Redis Cluster slot). Every write
script also sets the agent's ``listed`` key, so listings and the records never
disagree. Hash fields are written in chunks of 1,000 arguments (Lua's ``unpack``
has a stack limit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

#: Replace a whole list (messages or tool calls), compare-and-set. KEYS: state, body,
#: versions, listed. ARGV: version field, expected token ('' = never written), new
#: token, agent id (unused), upsert count n, n x (key, state JSON, body), then the keys to
#: delete. Applies only if the family's token is still the one the caller planned
#: from, else returns -1 (the caller reads again and re-plans). Returns the rows
#: written or deleted. A plan with no change leaves the token alone.
REPLACE_LUA = """
local state, body, versions, listed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local field, expected, token = ARGV[1], ARGV[2], ARGV[3]
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
redis.call('SET', listed, '1', 'NX')
return n + #doomed
"""

#: Write the changed messages of a list this store wrote last, compare-and-set. KEYS:
#: state, body, versions, listed (as REPLACE_LUA). ARGV: expected token, new token, the
#: list's new length, upsert count n, n x (position, state JSON, body). Positions run
#: from 0 without a gap, so those from the new length on are the dropped tail. Returns
#: -1 if the token is not the expected one, else the rows written or deleted.
PATCH_MESSAGES_LUA = """
local state, body, versions, listed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expected, token = ARGV[1], ARGV[2]
if (redis.call('HGET', versions, 'messages') or '') ~= expected then return -1 end
local length, n = tonumber(ARGV[3]), tonumber(ARGV[4])
local states, bodies, doomed = {}, {}, {}
for i = 5, 4 + 3 * n, 3 do
  states[#states + 1] = ARGV[i]
  states[#states + 1] = ARGV[i + 1]
  bodies[#bodies + 1] = ARGV[i]
  bodies[#bodies + 1] = ARGV[i + 2]
end
for i = 1, #states, 1000 do
  redis.call('HSET', state, unpack(states, i, math.min(i + 999, #states)))
  redis.call('HSET', body, unpack(bodies, i, math.min(i + 999, #bodies)))
end
for position = length, redis.call('HLEN', state) - 1 do doomed[#doomed + 1] = tostring(position) end
for i = 1, #doomed, 1000 do
  redis.call('HDEL', state, unpack(doomed, i, math.min(i + 999, #doomed)))
  redis.call('HDEL', body, unpack(doomed, i, math.min(i + 999, #doomed)))
end
if token ~= expected then redis.call('HSET', versions, 'messages', token) end
redis.call('SET', listed, '1', 'NX')
return n + #doomed
"""

#: Upsert one document. KEYS: family hash, listed. ARGV: agent id, key, "<sort_ms>:<JSON>".
PUT_DOC_LUA = """
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SET', KEYS[2], '1', 'NX')
return 1
"""

#: Replace a document family. KEYS: family hash, listed. ARGV: agent id, (key, value)...
REPLACE_DOCS_LUA = """
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('SET', KEYS[2], '1', 'NX')
return 1
"""

#: Upsert the info record. KEYS: info, listed. ARGV: agent id, body, template id,
#: created_ms, message count.
SAVE_INFO_LUA = """
redis.call('HSET', KEYS[1], 'body', ARGV[2], 'template_id', ARGV[3],
  'created_ms', ARGV[4], 'message_count', ARGV[5])
redis.call('SET', KEYS[2], '1', 'NX')
return 1
"""

#: Append one event unless its seq is stored. KEYS: bodies, all-events index, channel
#: index, listed. ARGV: agent id, seq member, body. Returns 1 (stored), 0 (the same
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
redis.call('SET', KEYS[4], '1', 'NX')
return 1
"""

#: One page of events, ``{members, bodies}`` (seq order), read in one script so both
#: come from one moment. KEYS: an index (all events or one channel's), bodies.
#: ARGV: BYLEX lower bound, limit. The bodies are asked for 1,000 at a time (``unpack``
#: is bounded by Lua's stack).
READ_EVENTS_LUA = """
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, ARGV[2])
local bodies = {}
for i = 1, #members, 1000 do
  local chunk = redis.call('HMGET', KEYS[2], unpack(members, i, math.min(i + 999, #members)))
  for j = 1, #chunk do bodies[#bodies + 1] = chunk[j] end
end
return {members, bodies}
"""

#: Delete an agent. KEYS: every data key of the agent (``listed`` among them).
DELETE_AGENT_LUA = """
redis.call('DEL', unpack(KEYS))
return 1
"""

#: Fork on one server. KEYS: the source's n data keys, then n data keys per target.
#: ARGV: n, position of the info key, of the versions key and of the listed key among
#: the n, a fresh token, then per target: agent id, body, template id, created_ms,
#: message count. Each target gets a copy of every source key (COPY keeps hashes and
#: sorted sets whole, so messages keep their created_ms), its own info, fresh replace
#: tokens and its listed key: all targets in one script, so all or none exist.
FORK_LUA = """
local n, info_at, versions_at, listed_at, token = tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local target = 0
for a = 6, #ARGV, 5 do
  local base = n * (target + 1)
  for i = 1, n do
    local source, copy = KEYS[i], KEYS[base + i]
    redis.call('DEL', copy)
    if i ~= info_at and redis.call('EXISTS', source) == 1 then
      redis.call('COPY', source, copy)
    end
  end
  redis.call('HSET', KEYS[base + info_at], 'body', ARGV[a + 1], 'template_id', ARGV[a + 2],
    'created_ms', ARGV[a + 3], 'message_count', ARGV[a + 4])
  redis.call('HSET', KEYS[base + versions_at], 'messages', token, 'tool_calls', token)
  redis.call('SET', KEYS[base + listed_at], '1')
  target = target + 1
end
return target
"""

#: Fork on a cluster, step 1: read the source whole, from one moment (its slot alone).
#: KEYS: the source's data keys. Returns, per key, {type, flat contents}: a hash's
#: field/value pairs, a sorted set's member/score pairs, a string's value, or nothing.
FORK_READ_LUA = """
local found = {}
for i = 1, #KEYS do
  local kind = redis.call('TYPE', KEYS[i])['ok']
  local items = {}
  if kind == 'hash' then items = redis.call('HGETALL', KEYS[i])
  elseif kind == 'zset' then items = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
  elseif kind == 'string' then items = {redis.call('GET', KEYS[i])} end
  found[i] = {kind, items}
end
return found
"""

#: Fork on a cluster, step 2, once per target (its slot alone), so each fork is
#: complete or absent. KEYS: the target's data keys. ARGV: position of the info, the
#: versions and the listed key, a fresh token, body, template id, created_ms, message
#: count, then per key: type, item count, items (as FORK_READ_LUA returned them).
FORK_WRITE_LUA = """
local info_at, versions_at, listed_at = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local at = 9
for i = 1, #KEYS do
  local kind, count = ARGV[at], tonumber(ARGV[at + 1])
  local first, last = at + 2, at + 1 + count
  at = last + 1
  redis.call('DEL', KEYS[i])
  if i ~= info_at and i ~= listed_at and count > 0 then
    if kind == 'hash' then
      for j = first, last, 1000 do
        redis.call('HSET', KEYS[i], unpack(ARGV, j, math.min(j + 999, last)))
      end
    elseif kind == 'zset' then
      local pairs = {}
      for j = first, last, 2 do
        pairs[#pairs + 1] = ARGV[j + 1]
        pairs[#pairs + 1] = ARGV[j]
      end
      for j = 1, #pairs, 1000 do
        redis.call('ZADD', KEYS[i], unpack(pairs, j, math.min(j + 999, #pairs)))
      end
    elseif kind == 'string' then
      redis.call('SET', KEYS[i], ARGV[first])
    end
  end
end
redis.call('HSET', KEYS[info_at], 'body', ARGV[5], 'template_id', ARGV[6],
  'created_ms', ARGV[7], 'message_count', ARGV[8])
redis.call('HSET', KEYS[versions_at], 'messages', ARGV[4], 'tool_calls', ARGV[4])
redis.call('SET', KEYS[listed_at], '1')
return 1
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
    fork_read: AsyncScript
    fork_write: AsyncScript
    lock_acquire: AsyncScript
    lock_renew: AsyncScript
    lock_release: AsyncScript
    patch_messages: AsyncScript

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
                    FORK_READ_LUA,
                    FORK_WRITE_LUA,
                    LOCK_ACQUIRE_LUA,
                    LOCK_RENEW_LUA,
                    LOCK_RELEASE_LUA,
                    PATCH_MESSAGES_LUA,
                )
            )
        )
