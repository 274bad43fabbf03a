"""The Lua script of the ``redis`` session store: an append is one script, atomic in Redis."""

from __future__ import annotations

import attrs
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

#: The append, atomic in the engine. KEYS: log, uuids, meta, sessions, mtimes, summaries,
#: subpaths. ARGV: batch id, session id, subpath ('' = main), mtime, mode, expected summary
#: ('' = none), new summary data ('' = none), then (uuid, expected stored '1'/'0', text)
#: per entry. Mode 'dedupe': skip entries whose uuid is stored. Mode 'cas': the caller
#: folded the summary from a snapshot, so apply only if the summary and every uuid's
#: membership are still what the snapshot saw, else return -1 (the caller starts over).
#: Returns the number of entries stored (0 when every uuid is stored, in either mode),
#: or -2 if this batch id was applied already (the driver re-sent the call after a
#: lost reply).
APPEND_LUA = """
local log, uuids, meta = KEYS[1], KEYS[2], KEYS[3]
local batch, sid, subpath, mtime = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cas = ARGV[5] == 'cas'
if redis.call('HGET', meta, 'batch') == batch then return -2 end
local texts, fresh, moved = {}, {}, false
for i = 8, #ARGV, 3 do
  local id = ARGV[i]
  local stored = id ~= '' and redis.call('SISMEMBER', uuids, id) == 1
  if stored ~= (ARGV[i + 1] == '1') then moved = true end
  if not stored then
    texts[#texts + 1] = ARGV[i + 2]
    if id ~= '' then fresh[#fresh + 1] = id end
  end
end
if #texts == 0 then return 0 end
if cas and (moved or (redis.call('HGET', KEYS[6], sid) or '') ~= ARGV[6]) then return -1 end
for i = 1, #texts, 1000 do
  redis.call('RPUSH', log, unpack(texts, i, math.min(i + 999, #texts)))
end
for i = 1, #fresh, 1000 do
  redis.call('SADD', uuids, unpack(fresh, i, math.min(i + 999, #fresh)))
end
redis.call('HSET', meta, 'batch', batch)
if subpath ~= '' then
  redis.call('SADD', KEYS[7], subpath)
  return #texts
end
local previous = redis.call('HGET', KEYS[5], sid)
if previous and tonumber(previous) > tonumber(mtime) then mtime = previous end
redis.call('ZADD', KEYS[4], 0, sid)
redis.call('HSET', KEYS[5], sid, mtime)
if ARGV[7] ~= '' then redis.call('HSET', KEYS[6], sid, mtime .. ':' .. ARGV[7]) end
return #texts
"""


@attrs.frozen
class SessionScripts:
    """The session store's scripts, registered on one client."""

    append: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> SessionScripts:
        """Register every script on ``client``: no I/O (the digests are computed here)."""
        return cls(client.register_script(APPEND_LUA))
