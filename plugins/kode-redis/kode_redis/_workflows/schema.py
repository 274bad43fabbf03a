"""The key layout of the ``redis`` workflow store and its schema version.

Every key of a namespace's workflow state carries the hash tag ``{<ns>:wf}``, so they
share one cluster slot and a script may reach the keys it finds (a run's steps)
without declaring them first. ``R``, ``W``, ``S``, ``H`` are a run id, workflow name,
step id and graph hash, escaped like every caller-supplied key part::

    P = kode:{<ns>:wf}
    P:run:R          HASH   the run row (no field for a None column)
    P:runs           ZSET   run id, score created_ms (newest first: ZREVRANGE)
    P:runs:wf:W      ZSET   the same, for one workflow
    P:runs:running   ZSET   running run ids, score updated_ms (stalled runs)
    P:runs:finished  ZSET   finished run ids, score updated_ms (retention)
    P:workflows      HASH   workflow name -> how many runs it has
    P:state:R        HASH   state key -> JSON
    P:steps:R        HASH   step name -> step id (HSETNX: the unique step name)
    P:step:S         HASH   the step row
    P:attempts:S     HASH   attempt number -> JSON of the attempt row
    P:pending        ZSET   pending step ids, score updated_ms (undispatched steps)
    P:version:W:H    HASH   the version row
    P:lease:R        STRING the run lock's owner, with the lease as its PX expiry
    P:fence:R        STRING the run lock's fencing counter (INCR; kept across delete)

Every query reads an index (sorted sets, hashes); nothing scans the keyspace.
"""

from __future__ import annotations

import attrs

from .._schema import RedisSchema, escape

#: Version 1 is the first layout (its keys come with the writes).
WORKFLOWS = RedisSchema("workflows", 1)


@attrs.frozen
class WorkflowLayout:
    """The keys of one namespace's workflow state."""

    namespace: str

    @property
    def prefix(self) -> str:
        return f"kode:{{{self.namespace}:wf}}"

    def key(self, kind: str, *parts: str) -> str:
        return ":".join([self.prefix, kind, *(escape(part) for part in parts)])

    @property
    def pending(self) -> str:
        return self.key("pending")

    @property
    def running(self) -> str:
        return self.key("runs:running")

    @property
    def finished(self) -> str:
        return self.key("runs:finished")

    @property
    def runs(self) -> str:
        return self.key("runs")

    @property
    def workflows(self) -> str:
        return self.key("workflows")
