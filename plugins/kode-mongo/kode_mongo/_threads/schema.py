"""Collections of the ``mongo`` thread and run stores, shared by both families.

Both families' collections are named ``<namespace>.<name>`` in the configured
database and their indexes are created together by either family's first migration
(each records its own version in ``<namespace>.kode_meta``: ``threads``, ``runs``),
so deleting a thread deletes its runs and scores in one transaction.

``thread_threads``
    ``{_id: thread id, r: resource id, c: created ms, u: updated ms, n: last seq, j}``.
``thread_messages``
    ``{t: thread, q: seq, i: message id, c, j}``, unique on ``(t, q)`` and ``(t, i)``.
``thread_memory``
    ``{_id: {s: scope, i: id}, u, j}``.
``run_runs``
    ``{_id: run id, t: thread, r: resource, a: agent name, s: status, c, u, j}``.
``run_approvals``
    ``{_id: tool call id, run, p: position, j: approval JSON or null, d: decision or
    null, m: resolved ms}``: pending while ``d`` is null; the claim is one conditional
    update of this document.
``run_scores``
    ``{run, q: seq, j}`` in ``q`` order; ``run_counters`` ``{_id: run, n}`` numbers them.

Strings compare in code point order (MongoDB's default binary comparison), which the
owners filter's ranges rely on.
"""

from __future__ import annotations

import attrs
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from .._schema import Collection, Document, MongoSchema

_INDEXES = {
    "thread_threads": [
        IndexModel([("r", ASCENDING), ("u", DESCENDING)], name="resource_updated"),
        IndexModel([("u", DESCENDING), ("_id", DESCENDING)], name="updated"),
    ],
    "thread_messages": [
        IndexModel([("t", ASCENDING), ("q", ASCENDING)], name="thread_seq", unique=True),
        IndexModel([("t", ASCENDING), ("i", ASCENDING)], name="thread_id", unique=True),
    ],
    "run_runs": [
        IndexModel([("t", ASCENDING), ("c", DESCENDING)], name="thread_created"),
        IndexModel([("a", ASCENDING), ("t", ASCENDING)], name="agent_thread"),
    ],
    "run_approvals": [IndexModel([("run", ASCENDING)], name="run")],
    "run_scores": [IndexModel([("run", ASCENDING), ("q", ASCENDING)], name="run_seq")],
}

#: The thread family's version of the shared collections.
THREADS = MongoSchema("threads", 1, {1: _INDEXES})
#: The run family's version of the same collections.
RUNS = MongoSchema("runs", 1, {1: _INDEXES})


@attrs.frozen
class ConversationCollections:
    """The thread and run collections of one namespace."""

    threads: Collection
    messages: Collection
    memory: Collection
    runs: Collection
    approvals: Collection
    scores: Collection
    counters: Collection

    @classmethod
    def of(cls, database: AsyncDatabase[Document], namespace: str) -> ConversationCollections:
        def named(suffix: str) -> Collection:
            return database[f"{namespace}.{suffix}"]

        return cls(
            named("thread_threads"),
            named("thread_messages"),
            named("thread_memory"),
            named("run_runs"),
            named("run_approvals"),
            named("run_scores"),
            named("run_counters"),
        )
