"""The channel store in PostgreSQL: the ``channels`` and ``channel_topics`` tables."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from psycopg import sql

from kode_core.channels import ChannelOptions, ChannelRow, ChannelStore

from .._backend import Connection, PgBackend, rows_changed
from .._options import PgOptions
from .._schema import schema_sql
from .schema import CHANNELS

if TYPE_CHECKING:
    from typing_extensions import LiteralString


class PgChannelStore(ChannelStore):
    """Channels and subscriptions in the schema ``kode_<namespace>`` of a PostgreSQL database.

    Each primitive is one statement (atomic on its own). A subscription is inserted
    while its channel row is locked, and the foreign key from ``channel_topics`` to
    ``channels`` cascades a removal: no subscription outlives its channel.
    """

    def __init__(self, backend: PgBackend, options: PgOptions, settings: ChannelOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, CHANNELS)
        self._schema_id = schema_sql(options.namespace)

    def __repr__(self) -> str:
        return f"<PgChannelStore namespace={self.namespace!r} at {self._backend.address}>"

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.connection(self.namespace, CHANNELS)

    def _q(self, text: LiteralString) -> sql.Composed:
        return sql.SQL(text).format(s=self._schema_id)

    async def _changed(self, text: LiteralString, params: Any) -> bool:
        async with self._connection() as conn:
            cur = await conn.execute(self._q(text), params)
            return await rows_changed(cur) > 0

    async def _column(self, text: LiteralString, params: Any) -> list[Any]:
        async with self._connection() as conn:
            cur = await conn.execute(self._q(text), params)
            return [value for (value,) in await cur.fetchall()]

    async def _add_channel(self, channel_id: str, channel_name: str, opening_data: str) -> None:
        await self._changed(
            "INSERT INTO {s}.channels (channel_id, channel_name, opening_data)"
            " VALUES (%s, %s, %s) ON CONFLICT (channel_id) DO UPDATE"
            " SET channel_name = excluded.channel_name, opening_data = excluded.opening_data",
            (channel_id, channel_name, opening_data),
        )

    async def _remove_channels(self, channel_ids: list[str]) -> None:
        # ON DELETE CASCADE removes the subscriptions in the same statement.
        await self._changed("DELETE FROM {s}.channels WHERE channel_id = ANY(%s)", (channel_ids,))

    async def _set_user_id(self, channel_id: str, user_id: str | None) -> bool:
        return await self._changed(
            "UPDATE {s}.channels SET user_id = %s WHERE channel_id = %s", (user_id, channel_id)
        )

    async def _get_channel(self, channel_id: str) -> ChannelRow | None:
        async with self._connection() as conn:
            cur = await conn.execute(
                self._q(
                    "SELECT channel_name, opening_data, user_id FROM {s}.channels"
                    " WHERE channel_id = %s"
                ),
                (channel_id,),
            )
            row = await cur.fetchone()
        return None if row is None else (row[0], row[1], row[2])

    async def _set_state(self, channel_id: str, state: str) -> bool:
        return await self._changed(
            "UPDATE {s}.channels SET state = %s WHERE channel_id = %s", (state, channel_id)
        )

    async def _get_state(self, channel_id: str) -> str | None:
        found = await self._column(
            "SELECT state FROM {s}.channels WHERE channel_id = %s", (channel_id,)
        )
        return found[0] if found else None

    async def _clear_state(self, channel_id: str) -> None:
        await self._changed(
            "UPDATE {s}.channels SET state = NULL WHERE channel_id = %s", (channel_id,)
        )

    async def _subscribe(self, topic: str, channel_id: str) -> bool:
        # FOR KEY SHARE holds the channel row until the insert commits: a removal waits
        # for it, and a removal committed first leaves no row to lock (not found). One
        # statement, so it raises nothing in autocommit or inside a transaction.
        found = await self._column(
            "WITH channel AS (SELECT channel_id FROM {s}.channels WHERE channel_id = %s"
            " FOR KEY SHARE), added AS (INSERT INTO {s}.channel_topics (topic, channel_id)"
            " SELECT %s, channel_id FROM channel ON CONFLICT DO NOTHING)"
            " SELECT count(*) FROM channel",
            (channel_id, topic),
        )
        return bool(found[0])

    async def _unsubscribe(self, topic: str, channel_id: str) -> bool:
        return await self._changed(
            "DELETE FROM {s}.channel_topics WHERE topic = %s AND channel_id = %s",
            (topic, channel_id),
        )

    async def _channel_ids_for_topic(self, topic: str) -> list[str]:
        return await self._column(
            "SELECT channel_id FROM {s}.channel_topics WHERE topic = %s ORDER BY channel_id",
            (topic,),
        )

    async def _topics_for_channel(self, channel_id: str) -> list[str]:
        return await self._column(
            "SELECT topic FROM {s}.channel_topics WHERE channel_id = %s ORDER BY topic",
            (channel_id,),
        )
