"""The channel record: one open WebSocket channel as the store keeps it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Channel:
    """An open channel: its id and name, the data it was opened with, its user.

    ``opening_data`` is the JSON object given to
    :meth:`~kode_core.ChannelStore.add_channel`; ``user_id`` is None until
    :meth:`~kode_core.ChannelStore.set_user_id` sets one.
    """

    channel_id: str
    channel_name: str
    opening_data: Mapping[str, Any] = attrs.field(factory=dict)
    user_id: str | None = None
