"""The channel-store family: its registration and its builders."""

from __future__ import annotations

from .._builders import BuilderMap, Defaults
from .._family import Family
from .._registry import Registry
from ._options import ChannelOptions
from ._store import ChannelStore

#: WebSocket channels and their event-hub topic subscriptions.
CHANNELS: Family[ChannelStore] = Family(
    "channels", ChannelStore, ChannelOptions, "WebSocket channels and topic subscriptions"
)


def channel_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[ChannelStore]:
    """A builder map of channel stores, made like :func:`~kode_core.session_stores`.

    Pass another family's :class:`~kode_core.BackendPool` (``sessions.pool``) to share
    one client or pool per configuration.
    """
    return BuilderMap(CHANNELS, defaults, registry=registry)
