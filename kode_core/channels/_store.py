"""The channel store contract: channels and their event-hub topic subscriptions.

The public methods check every argument before any I/O (an
:class:`~kode_core.InvalidRecordError` names the field at fault and nothing is
written), then call the underscore primitives a backend implements, each atomic
in its engine.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InvalidRecordError, NotFoundError
from .._options import BackendOptions
from .._store import Store
from .._text import MAX_JSON_DEPTH, too_deep, unencodable, utf8_size
from ._options import ChannelOptions
from ._records import Channel

#: What a backend's ``_get_channel`` returns: name, opening data JSON, user id.
ChannelRow = tuple[str, str, "str | None"]


#: Ids, names and topics are index keys; two of them (4 bytes a character at most) stay
#: well under every engine's index entry limit (PostgreSQL's is about 2,700 bytes).
MAX_ID_LENGTH = 256


def check_id(value: object, name: str) -> str:
    """``value`` if it is a usable id: 1 to 256 characters, valid Unicode, without NUL.

    Raises :class:`~kode_core.InvalidRecordError` naming ``name`` otherwise.
    """
    if not isinstance(value, str):
        raise InvalidRecordError(name, f"must be a string, got {type(value).__name__}")
    if not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise InvalidRecordError(
            name, f"must be 1 to {MAX_ID_LENGTH} characters without NUL, got {value!r}"
        )
    problem = unencodable(value)
    if problem:
        raise InvalidRecordError(name, problem)
    return value


def _missing(channel_id: str) -> NotFoundError:
    return NotFoundError(f"no channel {channel_id!r}", channel_id=channel_id)


class ChannelStore(Store):
    """WebSocket channels and their topic subscriptions, per namespace, on one engine.

    Every method raises :class:`~kode_core.InvalidRecordError` for bad input before
    writing anything, and :class:`~kode_core.BackendUnavailableError` when the engine
    cannot be reached. A subscription exists only while its channel does: removing a
    channel removes its subscriptions in the same write, and subscribing an unknown
    channel raises :class:`~kode_core.NotFoundError`.
    """

    def __init__(self, options: BackendOptions, settings: ChannelOptions) -> None:
        super().__init__(options)
        self._max_data_bytes = settings.max_data_bytes

    def _encode_object(self, value: object, name: str) -> str:
        if not isinstance(value, Mapping):
            raise InvalidRecordError(name, f"must be a JSON object, got {type(value).__name__}")
        try:
            text = json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
        except RecursionError:
            raise InvalidRecordError(
                name, f"is nested deeper than {MAX_JSON_DEPTH} levels"
            ) from None
        except (TypeError, ValueError) as exc:
            raise InvalidRecordError(name, f"is not JSON: {exc}") from None
        size = utf8_size(text)
        if size is None:
            raise InvalidRecordError(name, f"holds a string that {unencodable(text)}")
        if size > self._max_data_bytes:
            raise InvalidRecordError(
                name, f"is {size} bytes of JSON, over the limit of {self._max_data_bytes} bytes"
            )
        if too_deep(text):
            raise InvalidRecordError(name, f"is nested deeper than {MAX_JSON_DEPTH} levels")
        return text

    # -- channels -------------------------------------------------------------------------

    async def add_channel(
        self, channel_id: str, channel_name: str, opening_data: Mapping[str, Any] | None = None
    ) -> None:
        """Store an open channel. Adding an id again replaces its name and opening data
        and keeps its user id, state and subscriptions."""
        channel_id = check_id(channel_id, "channel_id")
        channel_name = check_id(channel_name, "channel_name")
        data = self._encode_object({} if opening_data is None else opening_data, "opening_data")
        await self._add_channel(channel_id, channel_name, data)

    async def remove_channels(self, channel_ids: Sequence[str]) -> None:
        """Remove these channels, their state and their topic subscriptions, in one write.

        Unknown ids are ignored; an empty list does nothing.
        """
        if isinstance(channel_ids, (str, bytes, Mapping)) or not isinstance(channel_ids, Sequence):
            raise InvalidRecordError(
                "channel_ids", f"must be a list, got {type(channel_ids).__name__}"
            )
        ids = sorted({check_id(v, f"channel_ids[{i}]") for i, v in enumerate(channel_ids)})
        if ids:
            await self._remove_channels(ids)

    async def set_user_id(self, channel_id: str, user_id: str | None) -> None:
        """Set (or clear, with None) the channel's user; raises
        :class:`~kode_core.NotFoundError` for an unknown channel."""
        channel_id = check_id(channel_id, "channel_id")
        if user_id is not None:
            user_id = check_id(user_id, "user_id")
        if not await self._set_user_id(channel_id, user_id):
            raise _missing(channel_id)

    async def get_channel(self, channel_id: str) -> Channel:
        """The channel; raises :class:`~kode_core.NotFoundError` naming it if there is none."""
        channel_id = check_id(channel_id, "channel_id")
        row = await self._get_channel(channel_id)
        if row is None:
            raise _missing(channel_id)
        name, data, user_id = row
        return Channel(channel_id, name, json.loads(data), user_id)

    async def set_state(self, channel_id: str, state: Mapping[str, Any]) -> None:
        """Replace the channel's state (a JSON object); raises
        :class:`~kode_core.NotFoundError` for an unknown channel."""
        channel_id = check_id(channel_id, "channel_id")
        text = self._encode_object(state, "state")
        if not await self._set_state(channel_id, text):
            raise _missing(channel_id)

    async def get_state(self, channel_id: str) -> dict[str, Any] | None:
        """The channel's state; None when unset or when there is no such channel."""
        channel_id = check_id(channel_id, "channel_id")
        text = await self._get_state(channel_id)
        return None if text is None else dict(json.loads(text))

    async def clear_state(self, channel_id: str) -> None:
        """Forget the channel's state (nothing happens for an unknown channel)."""
        await self._clear_state(check_id(channel_id, "channel_id"))

    # -- event hub ------------------------------------------------------------------------

    async def subscribe(self, topic: str, channel_id: str) -> bool:
        """Subscribe the channel to ``topic``; True, also when it already was.

        Raises :class:`~kode_core.NotFoundError` for an unknown channel.
        """
        topic = check_id(topic, "topic")
        channel_id = check_id(channel_id, "channel_id")
        if not await self._subscribe(topic, channel_id):
            raise _missing(channel_id)
        return True

    async def unsubscribe(self, topic: str, channel_id: str) -> bool:
        """Drop the subscription; True only if it existed."""
        topic = check_id(topic, "topic")
        channel_id = check_id(channel_id, "channel_id")
        return await self._unsubscribe(topic, channel_id)

    async def channel_ids_for_topic(self, topic: str) -> list[str]:
        """The ids of the channels subscribed to ``topic``, sorted; [] for an unknown topic.

        An index read on every engine, never a scan.
        """
        return await self._channel_ids_for_topic(check_id(topic, "topic"))

    async def topics_for_channel(self, channel_id: str) -> list[str]:
        """The topics the channel is subscribed to, sorted; [] for an unknown channel."""
        return await self._topics_for_channel(check_id(channel_id, "channel_id"))

    # -- what a backend implements, each atomic -------------------------------------------

    @abc.abstractmethod
    async def _add_channel(self, channel_id: str, channel_name: str, opening_data: str) -> None:
        """Upsert the channel's name and opening data JSON (keep user id, state, topics)."""

    @abc.abstractmethod
    async def _remove_channels(self, channel_ids: list[str]) -> None:
        """Delete these channels, their state and their subscriptions, in one write."""

    @abc.abstractmethod
    async def _set_user_id(self, channel_id: str, user_id: str | None) -> bool:
        """Set the user id; False if there is no such channel."""

    @abc.abstractmethod
    async def _get_channel(self, channel_id: str) -> ChannelRow | None:
        """The channel's (name, opening data JSON, user id), or None."""

    @abc.abstractmethod
    async def _set_state(self, channel_id: str, state: str) -> bool:
        """Store the state JSON; False if there is no such channel."""

    @abc.abstractmethod
    async def _get_state(self, channel_id: str) -> str | None:
        """The state JSON, or None."""

    @abc.abstractmethod
    async def _clear_state(self, channel_id: str) -> None:
        """Forget the state."""

    @abc.abstractmethod
    async def _subscribe(self, topic: str, channel_id: str) -> bool:
        """Add the subscription (idempotent); False if there is no such channel."""

    @abc.abstractmethod
    async def _unsubscribe(self, topic: str, channel_id: str) -> bool:
        """Delete the subscription; True if it existed."""

    @abc.abstractmethod
    async def _channel_ids_for_topic(self, topic: str) -> list[str]:
        """The subscribed channel ids, sorted."""

    @abc.abstractmethod
    async def _topics_for_channel(self, channel_id: str) -> list[str]:
        """The channel's topics, sorted."""
