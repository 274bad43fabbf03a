"""The session-store family's own settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .._options import FamilyOptions, check, is_positive_int, server_only


@attrs.frozen(kw_only=True)
class SessionOptions(FamilyOptions):
    """Settings of every session store, whatever the engine (server-only).

    ``max_entry_bytes`` caps one entry's JSON (4 MiB by default); ``summary_fold``
    is the ``fold(prev, key, entries)`` that keeps session summaries (the Claude
    Agent SDK's ``fold_session_summary`` when that package is importable).
    """

    max_entry_bytes: int = server_only(
        default=4 * 1024 * 1024, validator=check(is_positive_int, "must be a positive int")
    )
    summary_fold: Callable[..., Any] | None = server_only(
        default=None, validator=check(lambda v: v is None or callable(v), "must be callable")
    )
