"""The Lua scripts of the ``redis`` channel store: each write that spans keys is one script."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

#: Remove channels and their subscriptions from both indexes. KEYS: (channel, its
#: topics) pairs. ARGV: the channel ids, in the same order.
REMOVE_LUA = """
for i = 1, #ARGV do
  local channel, own = KEYS[2 * i - 1], KEYS[2 * i]
  for _, key in ipairs(redis.call('SMEMBERS', own)) do
    redis.call('SREM', key, ARGV[i])
  end
  redis.call('DEL', channel, own)
end
return 1
"""

#: Set or delete one field of an existing channel. KEYS: channel. ARGV: field, value
#: ('' with a third argument 'del' deletes). Returns 0 if there is no such channel.
SET_FIELD_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] == 'del' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""

#: Subscribe an existing channel. KEYS: channel, its topics, the topic. ARGV: channel
#: id. Returns 0 if there is no such channel.
SUBSCRIBE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], KEYS[3])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""

#: Unsubscribe. KEYS: the channel's topics, the topic. ARGV: channel id. Returns 1
#: if the subscription existed.
UNSUBSCRIBE_LUA = """
local removed = redis.call('SREM', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[2], ARGV[1])
return removed
"""


@attrs.frozen
class ChannelScripts:
    """The scripts registered on one client (``EVALSHA``, reloaded after a server restart)."""

    remove: AsyncScript
    set_field: AsyncScript
    subscribe: AsyncScript
    unsubscribe: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> ChannelScripts:
        """Register every script on ``client``: no I/O."""
        texts = (REMOVE_LUA, SET_FIELD_LUA, SUBSCRIBE_LUA, UNSUBSCRIBE_LUA)
        return cls(*(client.register_script(text) for text in texts))
