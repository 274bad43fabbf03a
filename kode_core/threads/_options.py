"""The thread-store family's own settings."""

from __future__ import annotations

import attrs

from .._options import FamilyOptions, check, is_positive_int, server_only


@attrs.frozen(kw_only=True)
class ThreadOptions(FamilyOptions):
    """Settings of every thread store, whatever the engine (server-only).

    ``max_entry_bytes`` caps the JSON of one message, thread or working memory,
    4 MiB by default; the same option caps a run and a session entry.
    """

    max_entry_bytes: int = server_only(
        default=4 * 1024 * 1024, validator=check(is_positive_int, "must be a positive int")
    )
