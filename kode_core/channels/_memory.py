"""The ``memory`` backend's channel store: the executable reference of the contract."""

from __future__ import annotations

import attrs

from .._options import BackendOptions
from ..memory import MemoryBackend
from ._options import ChannelOptions
from ._store import ChannelRow, ChannelStore

#: The memory backend's layout has one version: there is nothing stored to migrate.
SCHEMA_VERSION = 1


@attrs.define
class _Channel:
    name: str
    opening_data: str
    user_id: str | None = None
    state: str | None = None


@attrs.define
class ChannelData:
    """One namespace's channels and both indexes of their subscriptions."""

    channels: dict[str, _Channel] = attrs.Factory(dict)
    by_topic: dict[str, set[str]] = attrs.Factory(dict)
    by_channel: dict[str, set[str]] = attrs.Factory(dict)


class MemoryChannelStore(ChannelStore):
    """Channels in dictionaries of this process; no primitive awaits, so each is atomic."""

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: ChannelOptions
    ) -> None:
        super().__init__(options, settings)
        self._data = backend.namespace_data("channels", options.namespace, ChannelData)

    def __repr__(self) -> str:
        return f"<MemoryChannelStore namespace={self.namespace!r}>"

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _migrate(self) -> None:
        pass  # nothing outlives the process

    async def _add_channel(self, channel_id: str, channel_name: str, opening_data: str) -> None:
        channel = self._data.channels.get(channel_id)
        if channel is None:
            self._data.channels[channel_id] = _Channel(channel_name, opening_data)
        else:
            channel.name, channel.opening_data = channel_name, opening_data

    async def _remove_channels(self, channel_ids: list[str]) -> None:
        for channel_id in channel_ids:
            self._data.channels.pop(channel_id, None)
            for topic in self._data.by_channel.pop(channel_id, set()):
                subscribers = self._data.by_topic[topic]
                subscribers.discard(channel_id)
                if not subscribers:
                    del self._data.by_topic[topic]

    async def _set_user_id(self, channel_id: str, user_id: str | None) -> bool:
        channel = self._data.channels.get(channel_id)
        if channel is not None:
            channel.user_id = user_id
        return channel is not None

    async def _get_channel(self, channel_id: str) -> ChannelRow | None:
        channel = self._data.channels.get(channel_id)
        return None if channel is None else (channel.name, channel.opening_data, channel.user_id)

    async def _set_state(self, channel_id: str, state: str) -> bool:
        channel = self._data.channels.get(channel_id)
        if channel is not None:
            channel.state = state
        return channel is not None

    async def _get_state(self, channel_id: str) -> str | None:
        channel = self._data.channels.get(channel_id)
        return None if channel is None else channel.state

    async def _clear_state(self, channel_id: str) -> None:
        channel = self._data.channels.get(channel_id)
        if channel is not None:
            channel.state = None

    async def _subscribe(self, topic: str, channel_id: str) -> bool:
        if channel_id not in self._data.channels:
            return False
        self._data.by_topic.setdefault(topic, set()).add(channel_id)
        self._data.by_channel.setdefault(channel_id, set()).add(topic)
        return True

    async def _unsubscribe(self, topic: str, channel_id: str) -> bool:
        topics = self._data.by_channel.get(channel_id, set())
        if topic not in topics:
            return False
        topics.discard(topic)
        if not topics:
            del self._data.by_channel[channel_id]
        subscribers = self._data.by_topic[topic]
        subscribers.discard(channel_id)
        if not subscribers:
            del self._data.by_topic[topic]
        return True

    async def _channel_ids_for_topic(self, topic: str) -> list[str]:
        return sorted(self._data.by_topic.get(topic, ()))

    async def _topics_for_channel(self, channel_id: str) -> list[str]:
        return sorted(self._data.by_channel.get(channel_id, ()))
