"""Agent threads: threads, their messages, working memory and the console read model.

Users build stores with :func:`thread_stores` (beside :func:`~kode_core.run_stores`,
which shares their storage); engine authors implement :class:`ThreadStore`'s
primitives over :class:`ThreadRow` and :class:`MessageRow`.
"""

from ._console import MAX_LIST_LIMIT, ThreadConsole
from ._family import THREADS, thread_stores
from ._memory import MemoryThreadStore
from ._options import ThreadOptions
from ._records import (
    AgentMessage,
    ContentPart,
    MemoryScope,
    MessageRole,
    MessageToolCall,
    MessageToolResult,
    PartType,
    Thread,
)
from ._rows import (
    MessageRow,
    OwnerRange,
    ThreadQuery,
    ThreadRow,
    owner_matches,
    owner_ranges,
    thread_of,
)
from ._store import ThreadStore

__all__ = [
    "MAX_LIST_LIMIT",
    "THREADS",
    "AgentMessage",
    "ContentPart",
    "MemoryScope",
    "MemoryThreadStore",
    "MessageRole",
    "MessageRow",
    "MessageToolCall",
    "MessageToolResult",
    "OwnerRange",
    "PartType",
    "Thread",
    "ThreadConsole",
    "ThreadOptions",
    "ThreadQuery",
    "ThreadRow",
    "ThreadStore",
    "owner_matches",
    "owner_ranges",
    "thread_of",
    "thread_stores",
]
