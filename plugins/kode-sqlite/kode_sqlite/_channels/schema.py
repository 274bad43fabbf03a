"""Tables and schema version of the sqlite channel store.

A namespace's channel tables carry its name as a prefix (``<namespace>__channels``,
``<namespace>__channel_topics``); their version is recorded in ``kode_meta`` under
the component ``channels``.
"""

from __future__ import annotations

from kode_core.backend import SchemaComponent

from .._schema import SqliteMigration, quote


def channels_table(namespace: str) -> str:
    return quote(f"{namespace}__channels")


def topics_table(namespace: str) -> str:
    return quote(f"{namespace}__channel_topics")


def _version_1(namespace: str) -> list[str]:
    channels, topics = channels_table(namespace), topics_table(namespace)
    by_channel = quote(f"{namespace}__channel_topics_by_channel")
    return [
        f"""CREATE TABLE {channels} (
            channel_id TEXT PRIMARY KEY,
            channel_name TEXT NOT NULL,
            opening_data TEXT NOT NULL,
            user_id TEXT,
            state TEXT
        ) WITHOUT ROWID""",
        # The primary key is the topic -> channels index; the second one goes the other way.
        f"""CREATE TABLE {topics} (
            topic TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            PRIMARY KEY (topic, channel_id)
        ) WITHOUT ROWID""",
        f"CREATE INDEX {by_channel} ON {topics} (channel_id, topic)",
    ]


#: The channel tables.
CHANNELS: SchemaComponent[SqliteMigration] = SchemaComponent("channels", 1, {1: _version_1})
