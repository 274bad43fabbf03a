"""The key layout of the ``redis`` thread and run stores, shared by both families.

Both families of a namespace keep their keys under ``kode:<ns>:c:`` so that one
script deletes a thread with its messages, runs, approvals and scores. Each
records its own layout version (``threads_schema_version``,
``runs_schema_version`` in ``kode:<ns>:meta``). Every listing reads a sorted-set
index, never ``SCAN``. ``\\0`` joins the parts of a lexicographic index member
(ids never hold NUL), so ``ZRANGEBYLEX [a\\0 (a\\1`` is exactly the members of ``a``::

    c:threads:by_update       ZSET  thread id, score updated_ms
    c:threads:by_resource     ZSET  "<resource>\\0<thread>", score 0 (owner ranges)
    c:thread:<T>              HASH  resource_id, created_ms, updated_ms, body, next_seq
    c:thread:<T>:seq          ZSET  message id, score its seq (the stored order)
    c:thread:<T>:body         HASH  message id -> JSON
    c:memory                  HASH  "<scope>\\0<id>" -> JSON
    c:runs                    HASH  run id -> body
    c:run_meta                HASH  run id -> JSON [thread_id, agent_name]
    c:runs:by_thread          ZSET  "<thread>\\0<created_ms, 20 digits>\\0<run>", score 0
    c:approvals               HASH  tool call id -> JSON [run_id, position, body|null]
    c:approvals:by_run        ZSET  "<run>\\0<tool call id>", score 0
    c:pending                 HASH  tool call id -> run id, while pending (the claim)
    c:decisions               HASH  tool call id -> "<decision>:<resolved_ms>"
    c:scores                  ZSET  "<run>\\0<seq, 20 digits>", score 0
    c:score_body              HASH  that member -> JSON
    c:score_seq               STRING the last score seq (INCR)
    c:agents:threads          ZSET  "<agent>\\0<thread>", score 0
    c:agents:runs             HASH  "<agent>\\0<thread>" -> how many runs
    c:agents                  ZSET  agent name, score its number of runs

The keys a script computes itself (none but ``c:thread:<T>``'s, passed as KEYS)
make these scripts standalone-Redis only, like every Redis deployment kode tests.
"""

from __future__ import annotations

import attrs

from .._schema import RedisSchema, escape

#: The thread family's layout (its keys come with the writes).
THREADS = RedisSchema("threads", 1)
#: The run family's layout: the same keys.
RUNS = RedisSchema("runs", 1)

#: Epoch ms are shifted by this before padding, so earlier times sort first too.
_MS_SHIFT = 2**62


def padded(value: int) -> str:
    """An integer as 20 digits (after the shift), so byte order is numeric order."""
    return f"{value + _MS_SHIFT:020d}"


@attrs.frozen
class ConversationKeys:
    """The keys of one namespace's threads and runs."""

    prefix: str

    @classmethod
    def for_namespace(cls, namespace: str) -> ConversationKeys:
        return cls(f"kode:{namespace}:c:")

    def key(self, name: str) -> str:
        return self.prefix + name

    def thread(self, thread_id: str) -> str:
        return f"{self.prefix}thread:{escape(thread_id)}"

    def namespace_keys(self) -> list[str]:
        """The namespace-wide keys, in the order the scripts take them."""
        return [self.key(name) for name in NAMESPACE_KEYS]


#: The namespace-wide keys every script receives (KEYS[4..] after a thread's three).
NAMESPACE_KEYS = (
    "threads:by_update",
    "threads:by_resource",
    "memory",
    "runs",
    "run_meta",
    "runs:by_thread",
    "approvals",
    "approvals:by_run",
    "pending",
    "decisions",
    "scores",
    "score_body",
    "score_seq",
    "agents:threads",
    "agents:runs",
    "agents",
)
