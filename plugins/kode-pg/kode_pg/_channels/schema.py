"""Storage layout of the ``pg`` channel store, in the namespace's schema ``kode_<namespace>``.

``channels``
    One row per channel: name, opening data, user id, state.
``channel_topics``
    One row per subscription. Its primary key ``(topic, channel_id)`` answers "which
    channels", the index ``(channel_id, topic)`` "which topics"; the foreign key
    deletes a channel's subscriptions with it and refuses one for a missing channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core.backend import SchemaComponent

from .._schema import PgSchema

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_V1: tuple[LiteralString, ...] = (
    """CREATE TABLE IF NOT EXISTS {schema}.channels (
        channel_id text COLLATE "C" PRIMARY KEY,
        channel_name text NOT NULL,
        opening_data text NOT NULL,
        user_id text,
        state text
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.channel_topics (
        topic text COLLATE "C" NOT NULL,
        channel_id text COLLATE "C" NOT NULL
            REFERENCES {schema}.channels (channel_id) ON DELETE CASCADE,
        PRIMARY KEY (topic, channel_id)
    )""",
    """CREATE INDEX IF NOT EXISTS channel_topics_by_channel
        ON {schema}.channel_topics (channel_id, topic)""",
)

#: The channel tables.
CHANNELS: PgSchema = SchemaComponent("channels", 1, {1: _V1})
