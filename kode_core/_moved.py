"""Names that left ``kode_core``'s top level in 0.2, still served there until 0.3."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: Names that moved in 0.2, served from their new module with a DeprecationWarning
#: until 0.3: the engine author's API went to ``kode_core.backend``, each family's
#: records to its package.
_MOVED = {
    **dict.fromkeys(
        [
            "Backend",
            "BackendOptions",
            "OncePerKey",
            "address_of",
            "check",
            "is_bool",
            "is_namespace",
            "is_positive_int",
            "is_positive_number",
            "is_url",
            "map_exceptions",
            "server_only",
            "wire_safe",
        ],
        "kode_core.backend",
    ),
    **dict.fromkeys(
        [
            "EncodedEntry",
            "EntryPage",
            "MemorySessionStore",
            "ProjectPage",
            "SessionKey",
            "SessionListing",
            "SessionPage",
            "SessionSummary",
            "StoredEntry",
            "SummaryFold",
            "decode_entry",
            "encode_batch",
            "encode_entry",
            "sdk_summary_fold",
        ],
        "kode_core.sessions",
    ),
    **dict.fromkeys(["MemoryBackend", "MemoryOptions"], "kode_core.memory"),
    "Record": "kode_core.backend",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        agents = importlib.import_module("kode_core.agents")
        if name not in agents.__all__:
            raise AttributeError(f"module 'kode_core' has no attribute {name!r}")
        module = "kode_core.agents"
    warnings.warn(
        f"kode_core.{name} moved to {module}.{name}; the old name goes in kode-core 0.3",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
