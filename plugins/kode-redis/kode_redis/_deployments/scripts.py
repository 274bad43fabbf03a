"""The Lua scripts of the ``redis`` deployment store: each write is one script.

A record's key is ``<record prefix><member>`` and its liveness key that plus
``:live``, so the scripts that walk a sorted set reach the records of its members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

#: Start: replace the record and its function sets. KEYS: record, all. ARGV: member,
#: id, endpoint, functions JSON, function keys JSON, now, ttl ms.
START_LUA = """
local record, all, member = KEYS[1], KEYS[2], ARGV[1]
local old = redis.call('HGET', record, 'keys')
if old then
  for _, key in ipairs(cjson.decode(old)) do redis.call('ZREM', key, member) end
end
redis.call('HSET', record, 'id', ARGV[2], 'endpoint', ARGV[3], 'functions', ARGV[4],
  'keys', ARGV[5], 'heartbeat_ms', ARGV[6])
redis.call('SET', record .. ':live', '1', 'PX', ARGV[7])
redis.call('ZADD', all, ARGV[6], member)
for _, key in ipairs(cjson.decode(ARGV[5])) do redis.call('ZADD', key, ARGV[6], member) end
return 1
"""

#: Heartbeat a live instance. KEYS: record, all. ARGV: member, now, ttl ms. Returns 0
#: when its liveness key has expired (or it was stopped).
HEARTBEAT_LUA = """
local record, all, member = KEYS[1], KEYS[2], ARGV[1]
if redis.call('EXISTS', record .. ':live') == 0 then return 0 end
redis.call('SET', record .. ':live', '1', 'PX', ARGV[3])
redis.call('HSET', record, 'heartbeat_ms', ARGV[2])
redis.call('ZADD', all, 'XX', ARGV[2], member)
for _, key in ipairs(cjson.decode(redis.call('HGET', record, 'keys'))) do
  redis.call('ZADD', key, 'XX', ARGV[2], member)
end
return 1
"""

#: Delete instances. KEYS: all. ARGV: record prefix, then members, or '' and a
#: "since" score to delete every member scored below it. Returns how many went.
DELETE_LUA = """
local all, prefix = KEYS[1], ARGV[1]
local members = {}
if ARGV[2] == '' then
  members = redis.call('ZRANGEBYSCORE', all, '-inf', '(' .. ARGV[3])
else
  for i = 2, #ARGV do members[#members + 1] = ARGV[i] end
end
local deleted = 0
for _, member in ipairs(members) do
  local record = prefix .. member
  local keys = redis.call('HGET', record, 'keys')
  if keys then
    for _, key in ipairs(cjson.decode(keys)) do redis.call('ZREM', key, member) end
    deleted = deleted + 1
  end
  redis.call('DEL', record, record .. ':live')
  redis.call('ZREM', all, member)
end
return deleted
"""

#: Read records, newest heartbeat first. KEYS: a sorted set. ARGV: record prefix,
#: lowest score ('-inf' for all), 'live' to skip expired ones, how many (0: all).
READ_LUA = """
local prefix, limit = ARGV[1], tonumber(ARGV[4])
local found = {}
for _, member in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', ARGV[2])) do
  local record = prefix .. member
  if ARGV[3] ~= 'live' or redis.call('EXISTS', record .. ':live') == 1 then
    local row = redis.call('HMGET', record, 'id', 'endpoint', 'functions', 'heartbeat_ms')
    if row[1] then
      found[#found + 1] = row
      if #found == limit then break end
    end
  end
end
return found
"""


@attrs.frozen
class DeploymentScripts:
    """The scripts registered on one client (``EVALSHA``, reloaded after a server restart)."""

    start: AsyncScript
    heartbeat: AsyncScript
    delete: AsyncScript
    read: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> DeploymentScripts:
        """Register every script on ``client``: no I/O."""
        texts = (START_LUA, HEARTBEAT_LUA, DELETE_LUA, READ_LUA)
        return cls(*(client.register_script(text) for text in texts))
