"""Session transcripts: the Claude Agent SDK's ``SessionStore`` contract, records and builders."""

from ._entries import decode_entry, encode_batch, encode_entry
from ._family import SESSIONS, session_stores, store_from_env
from ._memory import MemorySessionStore
from ._options import SessionOptions
from ._records import (
    EncodedEntry,
    EntryPage,
    ProjectPage,
    SessionKey,
    SessionListing,
    SessionPage,
    SessionSummary,
    StoredEntry,
)
from ._store import SessionStore, SummaryFold, sdk_summary_fold

__all__ = [
    "SESSIONS",
    "EncodedEntry",
    "EntryPage",
    "MemorySessionStore",
    "ProjectPage",
    "SessionKey",
    "SessionListing",
    "SessionOptions",
    "SessionPage",
    "SessionStore",
    "SessionSummary",
    "StoredEntry",
    "SummaryFold",
    "decode_entry",
    "encode_batch",
    "encode_entry",
    "sdk_summary_fold",
    "session_stores",
    "store_from_env",
]
