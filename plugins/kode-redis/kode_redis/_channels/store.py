"""The channel store in Redis: a hash per channel, a set per side of each subscription."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from kode_core.channels import ChannelOptions, ChannelRow, ChannelStore

from .._backend import RedisBackend
from .._options import RedisOptions
from .schema import CHANNELS, ChannelLayout
from .scripts import ChannelScripts

if TYPE_CHECKING:
    from redis.asyncio import Redis


def _text(value: Any) -> str:
    return cast("str", value)  # the client decodes responses


class RedisChannelStore(ChannelStore):
    """Channels of one namespace of a Redis server.

    Subscribing checks the channel and writes both sets in one script; removing a
    channel deletes it and takes it out of every topic set it is in, in one script,
    so no subscription outlives its channel. Both lookups read one set: no ``SCAN``.
    """

    def __init__(
        self, backend: RedisBackend, options: RedisOptions, settings: ChannelOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        backend.refuse_on_cluster("channels")  # its scripts still span hash slots
        self._use_schema(backend, CHANNELS)
        self._layout = ChannelLayout(options.namespace)

    def __repr__(self) -> str:
        return f"<RedisChannelStore namespace={self.namespace!r} backend={self._backend!r}>"

    async def _ready(self) -> tuple[Redis, ChannelScripts]:
        client = await self._backend.client(self.namespace, CHANNELS)
        return client, self._backend.scripts(ChannelScripts.register)

    async def _add_channel(self, channel_id: str, channel_name: str, opening_data: str) -> None:
        client, _ = await self._ready()
        with self._backend.errors():
            await client.hset(
                self._layout.channel(channel_id),
                mapping={"name": channel_name, "data": opening_data},
            )

    async def _remove_channels(self, channel_ids: list[str]) -> None:
        _, scripts = await self._ready()
        keys = [
            key
            for channel_id in channel_ids
            for key in (self._layout.channel(channel_id), self._layout.topics(channel_id))
        ]
        with self._backend.errors():
            await scripts.remove(keys=keys, args=channel_ids)

    async def _set_field(self, channel_id: str, field: str, value: str | None) -> bool:
        _, scripts = await self._ready()
        args = [field, "", "del"] if value is None else [field, value, "set"]
        with self._backend.errors():
            return bool(await scripts.set_field(keys=[self._layout.channel(channel_id)], args=args))

    async def _set_user_id(self, channel_id: str, user_id: str | None) -> bool:
        return await self._set_field(channel_id, "user", user_id)

    async def _get_channel(self, channel_id: str) -> ChannelRow | None:
        client, _ = await self._ready()
        with self._backend.errors():
            name, data, user = await client.hmget(
                self._layout.channel(channel_id), ["name", "data", "user"]
            )
        return (
            None
            if name is None
            else (_text(name), _text(data), None if user is None else _text(user))
        )

    async def _set_state(self, channel_id: str, state: str) -> bool:
        return await self._set_field(channel_id, "state", state)

    async def _get_state(self, channel_id: str) -> str | None:
        client, _ = await self._ready()
        with self._backend.errors():
            state = await client.hget(self._layout.channel(channel_id), "state")
        return None if state is None else _text(state)

    async def _clear_state(self, channel_id: str) -> None:
        client, _ = await self._ready()
        with self._backend.errors():
            await client.hdel(self._layout.channel(channel_id), "state")

    async def _subscribe(self, topic: str, channel_id: str) -> bool:
        _, scripts = await self._ready()
        layout = self._layout
        keys = [layout.channel(channel_id), layout.topics(channel_id), layout.topic(topic)]
        with self._backend.errors():
            return bool(await scripts.subscribe(keys=keys, args=[channel_id]))

    async def _unsubscribe(self, topic: str, channel_id: str) -> bool:
        _, scripts = await self._ready()
        keys = [self._layout.topics(channel_id), self._layout.topic(topic)]
        with self._backend.errors():
            return bool(await scripts.unsubscribe(keys=keys, args=[channel_id]))

    async def _channel_ids_for_topic(self, topic: str) -> list[str]:
        client, _ = await self._ready()
        with self._backend.errors():
            members = await client.smembers(self._layout.topic(topic))
        return sorted(_text(member) for member in members)

    async def _topics_for_channel(self, channel_id: str) -> list[str]:
        client, _ = await self._ready()
        with self._backend.errors():
            keys = await client.smembers(self._layout.topics(channel_id))
        return sorted(self._layout.topic_of(_text(key)) for key in keys)
