"""The Lua script of the ``redis`` session store: an append is one script, atomic in Redis."""

from __future__ import annotations

import attrs
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

#: The append, atomic in the engine. KEYS: log, uuids, meta, sessions, mtimes, summaries,
#: subpaths. ARGV: batch id, session id, subpath ('' = main), mtime, mode, expected summary
#: ('' = none), new summary data ('' = none), expected membership ('1'/'0' per entry, in
#: order; missing characters read as '0'), then (uuid, text) per entry (uuid '' = none;
#: the text of an entry expected stored may be ''). Mode 'dedupe': skip entries whose
#: uuid is stored. Mode 'cas': the caller folded the summary from a snapshot, so apply
#: only if the summary and every uuid's membership are still what the snapshot saw, else
#: return {-1, the stored summary ('' = none), the membership string}: what the caller
#: folds from next. Returns the number of entries stored (0 when every uuid is stored, in
#: either mode), or -2 if this batch id was applied already (the driver re-sent the call
#: after a lost reply). One SMISMEMBER per 1000 uuids.
APPEND_LUA = """
local log, uuids, meta = KEYS[1], KEYS[2], KEYS[3]
local batch, sid, subpath, mtime, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[8]
local cas = ARGV[5] == 'cas'
if redis.call('HGET', meta, 'batch') == batch then return -2 end
local ids, stored = {}, {}
for i = 9, #ARGV, 2 do
  if ARGV[i] ~= '' then ids[#ids + 1] = ARGV[i] end
end
for i = 1, #ids, 1000 do
  local last = math.min(i + 999, #ids)
  local hits = redis.call('SMISMEMBER', uuids, unpack(ids, i, last))
  for j = 1, #hits do
    if hits[j] == 1 then stored[ids[i + j - 1]] = true end
  end
end
local texts, fresh, moved, n = {}, {}, false, 0
for i = 9, #ARGV, 2 do
  n = n + 1
  local id = ARGV[i]
  local known = stored[id] == true
  if known ~= (string.byte(expected, n) == 49) then moved = true end
  if not known then
    texts[#texts + 1] = ARGV[i + 1]
    if id ~= '' then fresh[#fresh + 1] = id end
  end
end
if #texts == 0 then return 0 end
if cas then
  local current = redis.call('HGET', KEYS[6], sid) or ''
  if moved or current ~= ARGV[6] then
    local marks = {}
    for i = 9, #ARGV, 2 do marks[#marks + 1] = stored[ARGV[i]] and '1' or '0' end
    return {-1, current, table.concat(marks)}
  end
end
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
