"""The channel store: WebSocket channels and their event-hub topic subscriptions.

Users build stores with :func:`channel_stores`; engine authors implement
:class:`ChannelStore`'s underscore primitives.
"""

from ._family import CHANNELS, channel_stores
from ._memory import MemoryChannelStore
from ._options import ChannelOptions
from ._records import Channel
from ._store import MAX_ID_LENGTH, ChannelRow, ChannelStore, check_id

__all__ = [
    "CHANNELS",
    "MAX_ID_LENGTH",
    "Channel",
    "ChannelOptions",
    "ChannelRow",
    "ChannelStore",
    "MemoryChannelStore",
    "channel_stores",
    "check_id",
]
