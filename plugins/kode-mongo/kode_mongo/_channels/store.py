"""The channel store in MongoDB: one document per channel, holding its topics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymongo import ASCENDING

from kode_core import InvalidOptionError
from kode_core.channels import ChannelOptions, ChannelRow, ChannelStore

from .._backend import MongoBackend
from .._options import MAX_ENTRY_BYTES_LIMIT, MongoOptions
from .._schema import Collection
from .schema import CHANNELS


class MongoChannelStore(ChannelStore):
    """Channels of one namespace in a MongoDB database; every write is one document's."""

    def __init__(
        self, backend: MongoBackend, options: MongoOptions, settings: ChannelOptions
    ) -> None:
        if settings.max_data_bytes * 2 > MAX_ENTRY_BYTES_LIMIT:
            # Opening data and state share the channel's document.
            raise InvalidOptionError(
                "mongo",
                "max_data_bytes",
                f"must be at most {MAX_ENTRY_BYTES_LIMIT // 2} (MongoDB's document limit)",
            )
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend.schema_in(options.database), CHANNELS)
        self._database = options.database

    def __repr__(self) -> str:
        return (
            f"<MongoChannelStore {self._backend.address} database={self._database!r} "
            f"namespace={self.namespace!r}>"
        )

    @asynccontextmanager
    async def _channels(self) -> AsyncIterator[Collection]:
        async with self._backend.database(self._database, self.namespace, CHANNELS) as db:
            yield db[f"{self.namespace}.channels"]

    async def _add_channel(self, channel_id: str, channel_name: str, opening_data: str) -> None:
        async with self._channels() as channels:
            await channels.update_one(
                {"_id": channel_id},
                {"$set": {"n": channel_name, "d": opening_data}, "$setOnInsert": {"t": []}},
                upsert=True,
            )

    async def _remove_channels(self, channel_ids: list[str]) -> None:
        async with self._channels() as channels:
            await channels.delete_many({"_id": {"$in": channel_ids}})

    async def _update(self, channel_id: str, change: dict[str, object]) -> bool:
        async with self._channels() as channels:
            result = await channels.update_one({"_id": channel_id}, change)
        return result.matched_count > 0

    async def _set_user_id(self, channel_id: str, user_id: str | None) -> bool:
        change = {"$unset": {"u": ""}} if user_id is None else {"$set": {"u": user_id}}
        return await self._update(channel_id, dict(change))

    async def _get_channel(self, channel_id: str) -> ChannelRow | None:
        async with self._channels() as channels:
            found = await channels.find_one({"_id": channel_id}, {"n": 1, "d": 1, "u": 1})
        return None if found is None else (found["n"], found["d"], found.get("u"))

    async def _set_state(self, channel_id: str, state: str) -> bool:
        return await self._update(channel_id, {"$set": {"s": state}})

    async def _get_state(self, channel_id: str) -> str | None:
        async with self._channels() as channels:
            found = await channels.find_one({"_id": channel_id}, {"s": 1})
        return None if found is None else found.get("s")

    async def _clear_state(self, channel_id: str) -> None:
        await self._update(channel_id, {"$unset": {"s": ""}})

    async def _subscribe(self, topic: str, channel_id: str) -> bool:
        return await self._update(channel_id, {"$addToSet": {"t": topic}})

    async def _unsubscribe(self, topic: str, channel_id: str) -> bool:
        async with self._channels() as channels:
            result = await channels.update_one(
                {"_id": channel_id, "t": topic}, {"$pull": {"t": topic}}
            )
        return result.modified_count > 0

    async def _channel_ids_for_topic(self, topic: str) -> list[str]:
        async with self._channels() as channels:
            cursor = channels.find({"t": topic}, {"_id": 1}).sort("_id", ASCENDING)
            return [doc["_id"] async for doc in cursor]

    async def _topics_for_channel(self, channel_id: str) -> list[str]:
        async with self._channels() as channels:
            found = await channels.find_one({"_id": channel_id}, {"t": 1})
        return [] if found is None else sorted(found.get("t", []))
