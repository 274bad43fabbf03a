"""The workflow-store family's own settings."""

from __future__ import annotations

import attrs

from .._options import FamilyOptions, check, is_positive_int, server_only


def _is_non_negative_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@attrs.frozen(kw_only=True)
class WorkflowOptions(FamilyOptions):
    """Settings of every workflow store, whatever the engine (server-only).

    ``retention_ms`` is how many milliseconds a finished run (completed, failed,
    cancelled) is kept after its last update before
    :meth:`~kode_core.WorkflowStore.prune` purges it; 0 (the default) keeps every run.
    ``max_entry_bytes`` caps the JSON of one stored value (a run's input, a step's
    data or result, one state key).
    """

    retention_ms: int = server_only(
        default=0, validator=check(_is_non_negative_int, "must be an int of milliseconds >= 0")
    )
    max_entry_bytes: int = server_only(
        default=4 * 1024 * 1024, validator=check(is_positive_int, "must be a positive int")
    )
