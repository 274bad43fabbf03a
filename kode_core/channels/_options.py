"""The channel-store family's own settings."""

from __future__ import annotations

import attrs

from .._options import FamilyOptions, check, is_positive_int, server_only


@attrs.frozen(kw_only=True)
class ChannelOptions(FamilyOptions):
    """Settings of every channel store, whatever the engine (server-only).

    ``max_data_bytes`` caps the JSON of a channel's opening data and of its state,
    1 MiB by default.
    """

    max_data_bytes: int = server_only(
        default=1024 * 1024, validator=check(is_positive_int, "must be a positive int")
    )
