"""The Lua scripts of the ``redis`` secret store: each write and its audit entry are one
script, atomic in Redis."""

from __future__ import annotations

import attrs
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

#: Shared by the scripts: append the audit entry ARGV[a] (the JSON array of an entry
#: without its id, opening bracket left out) with a fresh id to the trail and to the
#: secret's own list. KEYS of every script start: rows, created, versions, seq, audit,
#: audit of the secret.
_AUDIT = """
local function audit(a)
  if ARGV[a] == '' then return end
  local entry = '[' .. redis.call('INCR', KEYS[4]) .. ',' .. ARGV[a]
  redis.call('LPUSH', KEYS[5], entry)
  redis.call('LPUSH', KEYS[6], entry)
end
"""

#: ARGV: name, row text, created_at, key version, audit entry ('' = none).
PUT_LUA = (
    _AUDIT
    + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
audit(5)
return 1
"""
)

#: ARGV: name, audit entry. Returns 1 if the row was there (and is gone), else 0.
DELETE_LUA = (
    _AUDIT
    + """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
audit(2)
return 1
"""
)

#: The compare-and-set of a rotation. ARGV: name, old row text, new row text, new key
#: version, audit entry. Returns 1 if the stored text was the old one (now the new one).
REWRAP_LUA = (
    _AUDIT
    + """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
audit(5)
return 1
"""
)

#: Reads: ARGV[1..n] audit entries, KEYS[6..] their secrets' lists.
AUDIT_LUA = """
for i = 1, #ARGV do
  local entry = '[' .. redis.call('INCR', KEYS[4]) .. ',' .. ARGV[i]
  redis.call('LPUSH', KEYS[5], entry)
  redis.call('LPUSH', KEYS[5 + i], entry)
end
return #ARGV
"""


@attrs.frozen
class SecretScripts:
    """The secret store's scripts, registered on one client."""

    put: AsyncScript
    delete: AsyncScript
    rewrap: AsyncScript
    audit: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> SecretScripts:
        """Register every script on ``client``: no I/O (the digests are computed here)."""
        return cls(
            client.register_script(PUT_LUA),
            client.register_script(DELETE_LUA),
            client.register_script(REWRAP_LUA),
            client.register_script(AUDIT_LUA),
        )
