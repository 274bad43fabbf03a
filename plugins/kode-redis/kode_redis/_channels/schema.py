"""The key layout of the ``redis`` channel store and its schema version.

Its version sits in the field ``channels_schema_version`` of ``kode:<ns>:meta``.
``C`` and ``T`` are a channel id and a topic escaped like every caller-supplied key
part (see :mod:`kode_redis._schema`)::

    kode:<ns>:channel:<C>           HASH  name, data, user (absent: none), state (absent: unset)
    kode:<ns>:channel:<C>:topics    SET   the keys of its topics' sets (topics for a channel)
    kode:<ns>:topic:<T>             SET   the raw ids of the subscribed channels

A channel's topics are read back from the keys it holds (:meth:`ChannelLayout.topic_of`),
so a removal finds every topic set to clean in the channel's own set.
"""

from __future__ import annotations

import attrs

from .._schema import RedisSchema, escape, unescape

#: The channel-store keys: version 1 is the first layout (its keys come with the writes).
CHANNELS = RedisSchema("channels", 1)


@attrs.frozen
class ChannelLayout:
    """The key names of one namespace's channels."""

    namespace: str

    @property
    def prefix(self) -> str:
        return f"kode:{self.namespace}:"

    def channel(self, channel_id: str) -> str:
        return f"{self.prefix}channel:{escape(channel_id)}"

    def topics(self, channel_id: str) -> str:
        return f"{self.channel(channel_id)}:topics"

    def topic(self, topic: str) -> str:
        return f"{self.prefix}topic:{escape(topic)}"

    def topic_of(self, key: str) -> str:
        """The topic whose set is ``key``."""
        return unescape(key[len(f"{self.prefix}topic:") :])
