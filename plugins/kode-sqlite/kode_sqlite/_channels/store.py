"""The channel store in SQLite: one namespace's ``<namespace>__channel*`` tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from kode_core.backend import BackendOptions
from kode_core.channels import ChannelOptions, ChannelRow, ChannelStore

from .._backend import SqliteBackend
from .schema import CHANNELS, channels_table, topics_table

_T = TypeVar("_T")


class SqliteChannelStore(ChannelStore):
    """Channels and subscriptions in one namespace's tables of a SQLite file.

    Every write is one ``BEGIN IMMEDIATE`` transaction, so a subscription is added
    only while its channel row exists and a removal deletes both together.
    """

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: ChannelOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, CHANNELS)
        self._channels = channels_table(options.namespace)
        self._topics = topics_table(options.namespace)

    def __repr__(self) -> str:
        return f"<SqliteChannelStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._backend.write(self.namespace, CHANNELS, work)

    async def _read(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._backend.read(self.namespace, CHANNELS, work)

    async def _changed(self, sql: str, params: tuple[object, ...]) -> bool:
        return await self._write(lambda conn: conn.execute(sql, params).rowcount > 0)

    async def _column(self, sql: str, params: tuple[object, ...]) -> list[str]:
        return await self._read(lambda conn: [v for (v,) in conn.execute(sql, params).fetchall()])

    async def _add_channel(self, channel_id: str, channel_name: str, opening_data: str) -> None:
        sql = f"""INSERT INTO {self._channels} (channel_id, channel_name, opening_data)
            VALUES (?, ?, ?) ON CONFLICT (channel_id) DO UPDATE
            SET channel_name = excluded.channel_name, opening_data = excluded.opening_data"""
        await self._changed(sql, (channel_id, channel_name, opening_data))

    async def _remove_channels(self, channel_ids: list[str]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            for table in (self._topics, self._channels):
                conn.executemany(
                    f"DELETE FROM {table} WHERE channel_id = ?", [(i,) for i in channel_ids]
                )

        await self._write(work)

    async def _set_user_id(self, channel_id: str, user_id: str | None) -> bool:
        sql = f"UPDATE {self._channels} SET user_id = ? WHERE channel_id = ?"
        return await self._changed(sql, (user_id, channel_id))

    async def _get_channel(self, channel_id: str) -> ChannelRow | None:
        sql = (
            f"SELECT channel_name, opening_data, user_id FROM {self._channels} WHERE channel_id = ?"
        )

        def work(conn: sqlite3.Connection) -> ChannelRow | None:
            row = conn.execute(sql, (channel_id,)).fetchone()
            return None if row is None else (row[0], row[1], row[2])

        return await self._read(work)

    async def _set_state(self, channel_id: str, state: str) -> bool:
        sql = f"UPDATE {self._channels} SET state = ? WHERE channel_id = ?"
        return await self._changed(sql, (state, channel_id))

    async def _get_state(self, channel_id: str) -> str | None:
        found = await self._column(
            f"SELECT state FROM {self._channels} WHERE channel_id = ?", (channel_id,)
        )
        return found[0] if found else None

    async def _clear_state(self, channel_id: str) -> None:
        sql = f"UPDATE {self._channels} SET state = NULL WHERE channel_id = ?"
        await self._changed(sql, (channel_id,))

    async def _subscribe(self, topic: str, channel_id: str) -> bool:
        # Inserted only if the channel exists, in the same transaction as the check.
        sql = f"""INSERT OR IGNORE INTO {self._topics} (topic, channel_id)
            SELECT ?, channel_id FROM {self._channels} WHERE channel_id = ?"""
        exists = f"SELECT 1 FROM {self._channels} WHERE channel_id = ?"

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute(sql, (topic, channel_id))
            return conn.execute(exists, (channel_id,)).fetchone() is not None

        return await self._write(work)

    async def _unsubscribe(self, topic: str, channel_id: str) -> bool:
        sql = f"DELETE FROM {self._topics} WHERE topic = ? AND channel_id = ?"
        return await self._changed(sql, (topic, channel_id))

    async def _channel_ids_for_topic(self, topic: str) -> list[str]:
        sql = f"SELECT channel_id FROM {self._topics} WHERE topic = ? ORDER BY channel_id"
        return await self._column(sql, (topic,))

    async def _topics_for_channel(self, channel_id: str) -> list[str]:
        sql = f"SELECT topic FROM {self._topics} WHERE channel_id = ? ORDER BY topic"
        return await self._column(sql, (channel_id,))
