"""The workflow store on Redis: hashes per run and step, sorted-set indexes, Lua writes."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kode_core import ConflictError
from kode_core.workflows import (
    STEP_COLUMNS,
    ImportRows,
    RunRow,
    StepMatch,
    StepRow,
    StepUpdate,
    VersionRow,
    WorkflowOptions,
    WorkflowStore,
)

from .._backend import RedisBackend
from .._options import RedisOptions
from .._schema import escape
from .schema import WORKFLOWS, WorkflowLayout
from .scripts import WorkflowScripts

if TYPE_CHECKING:
    from redis.asyncio import Redis

_INT_COLUMNS = frozenset(
    {"attempt_count", "retries", "created_ms", "updated_ms", "running_ms", "scheduled_ms",
     "succeeded_ms", "failed_ms"}
)  # fmt: skip
_PAGE = 200


def _texts(values: Any) -> builtins.list[str]:
    """Members or keys as text (the client decodes responses; bytes only in the types)."""
    return [value.decode() if isinstance(value, bytes) else str(value) for value in values]


def _wire(fields: Mapping[str, Any]) -> str:
    """JSON of ``fields`` with every value a string (or null): what the scripts store."""
    return json.dumps({k: None if v is None else str(v) for k, v in fields.items()})


def _step(fields: Mapping[str, str]) -> StepRow:
    row: StepRow = {}
    for column in STEP_COLUMNS:
        value = fields.get(column)
        if value is None:
            row[column] = None
        elif column in _INT_COLUMNS:
            row[column] = int(value)
        elif column == "retry_delay":
            row[column] = float(value)
        else:
            row[column] = value
    return row


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _run(fields: Mapping[str, str]) -> RunRow:
    return RunRow(
        fields["run_id"], fields["workflow"], fields["status"], fields["spec"],
        fields.get("output"), fields.get("error"),
        int(fields["created_ms"]), int(fields["updated_ms"]),
    )  # fmt: skip


def _run_fields(row: RunRow) -> dict[str, Any]:
    return {
        "run_id": row.run_id, "workflow": row.workflow, "status": row.status, "spec": row.spec,
        "output": row.output, "error": row.error, "created_ms": row.created_ms,
        "updated_ms": row.updated_ms,
    }  # fmt: skip


class RedisWorkflowStore(WorkflowStore):
    """Workflow state in one namespace of a Redis server.

    Every write is one Lua script, atomic in Redis: a step name is unique by
    ``HSETNX`` in the run's name -> step id hash; a claim reads the step's status and
    changes it in the same script. A state key is one hash field. Stalled runs,
    undispatched steps, retention and the console read sorted-set indexes the scripts
    keep, never a keyspace ``SCAN``. The run lock is a key whose ``PX`` expiry is the
    lease (Redis's clock).
    """

    def __init__(
        self, backend: RedisBackend, options: RedisOptions, settings: WorkflowOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        backend.refuse_on_cluster("workflows")  # its scripts still span hash slots
        self._use_schema(backend, WORKFLOWS)
        self._layout = WorkflowLayout(options.namespace)
        self._prefix = self._layout.prefix

    def __repr__(self) -> str:
        return f"<RedisWorkflowStore namespace={self.namespace!r} backend={self._backend!r}>"

    async def _ready(self) -> tuple[Redis, WorkflowScripts]:
        client = await self._backend.client(self.namespace, WORKFLOWS)
        return client, self._backend.scripts(WorkflowScripts.register)

    async def _rows(self, keys: Sequence[str]) -> builtins.list[dict[str, str]]:
        """HGETALL of each key, in one round trip."""
        client, _ = await self._ready()
        with self._backend.errors():
            async with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                found: builtins.list[dict[str, str]] = await pipe.execute()
        return [fields for fields in found if fields]

    # -- runs ----------------------------------------------------------------------------

    async def _insert_run(self, row: RunRow) -> None:
        _, scripts = await self._ready()
        args = [self._prefix, escape(row.run_id), escape(row.workflow), _wire(_run_fields(row))]
        with self._backend.errors():
            inserted = await scripts.insert_run(args=args)
        if not int(inserted):
            raise ConflictError(f"workflow run {row.run_id!r} exists", run_id=row.run_id)

    async def _get_run(self, run_id: str) -> RunRow | None:
        found = await self._rows([self._layout.key("run", run_id)])
        return _run(found[0]) if found else None

    async def _update_run_status(
        self, run_id: str, status: str, output: str | None, error: str | None, updated_ms: int
    ) -> bool:
        fields: dict[str, Any] = {"status": status, "updated_ms": updated_ms}
        if output is not None:
            fields["output"] = output
        if error is not None:
            fields["error"] = error
        _, scripts = await self._ready()
        with self._backend.errors():
            updated = await scripts.update_run(args=[self._prefix, escape(run_id), _wire(fields)])
        return bool(int(updated))

    async def _get_state(self, run_id: str) -> dict[str, str]:
        client, _ = await self._ready()
        with self._backend.errors():
            state = await client.hgetall(self._layout.key("state", run_id))
        return dict(zip(_texts(state), _texts(state.values()), strict=True))

    async def _put_state(self, run_id: str, name: str, value: str) -> None:
        client, _ = await self._ready()
        with self._backend.errors():
            await client.hset(self._layout.key("state", run_id), name, value)

    async def _delete_run(self, run_id: str) -> bool:
        _, scripts = await self._ready()
        with self._backend.errors():
            deleted = await scripts.delete_run(args=[self._prefix, escape(run_id), run_id])
        return bool(int(deleted))

    async def _prune(self, before_ms: int) -> int:
        client, _ = await self._ready()
        purged = 0
        while True:
            with self._backend.errors():
                ids = _texts(
                    await client.zrangebyscore(
                        self._layout.finished, "-inf", f"({before_ms}", start=0, num=_PAGE
                    )
                )
            for run_id in ids:
                purged += await self._delete_run(run_id)
            if len(ids) < _PAGE:
                return purged

    async def _list_runs(
        self, workflow: str | None, status: str | None, limit: int, offset: int
    ) -> builtins.list[RunRow]:
        client, _ = await self._ready()
        index = self._layout.runs if workflow is None else self._layout.key("runs:wf", workflow)
        if status is None:
            with self._backend.errors():
                ids = _texts(await client.zrevrange(index, offset, offset + limit - 1))
            return [_run(fields) for fields in await self._rows(self._run_keys(ids))]
        # A status filter walks the (workflow's) newest-first index, a page at a time.
        matched: builtins.list[RunRow] = []
        start = 0
        while len(matched) < offset + limit:
            with self._backend.errors():
                ids = _texts(await client.zrevrange(index, start, start + _PAGE - 1))
            rows = [_run(fields) for fields in await self._rows(self._run_keys(ids))]
            matched += [row for row in rows if row.status == status]
            if len(ids) < _PAGE:
                break
            start += _PAGE
        return matched[offset : offset + limit]

    def _run_keys(self, ids: Sequence[str]) -> builtins.list[str]:
        return [self._layout.key("run", run_id) for run_id in ids]

    async def _distinct_workflows(self) -> builtins.list[str]:
        client, _ = await self._ready()
        with self._backend.errors():
            names = await client.hkeys(self._layout.workflows)
        return sorted(_texts(names))

    async def _find_stalled_runs(self, before_ms: int, limit: int) -> builtins.list[RunRow]:
        client, _ = await self._ready()
        with self._backend.errors():
            ids = _texts(
                await client.zrangebyscore(
                    self._layout.running, "-inf", f"({before_ms}", start=0, num=limit
                )
            )
        return [_run(fields) for fields in await self._rows(self._run_keys(ids))]

    # -- steps ----------------------------------------------------------------------------

    async def _insert_step(self, row: StepRow) -> None:
        _, scripts = await self._ready()
        args = [self._prefix, escape(row["run_id"]), row["step_name"], escape(row["step_id"]),
                _wire(row)]  # fmt: skip
        with self._backend.errors():
            inserted = await scripts.insert_step(args=args)
        if not int(inserted):
            raise ConflictError(
                f"run {row['run_id']!r} already has a step {row['step_name']!r}",
                run_id=row["run_id"],
                step_name=row["step_name"],
            )

    async def _import_run(self, rows: ImportRows) -> bool:
        _, scripts = await self._ready()
        run = rows.run
        history: dict[str, builtins.list[str]] = {}
        for attempt in rows.history:
            history.setdefault(attempt["step_id"], []).append(_wire(attempt))
        steps = [
            {"name": row["step_name"], "id": escape(row["step_id"]), "row": _wire(row),
             "attempts": history.get(row["step_id"], [])}
            for row in rows.steps
        ]  # fmt: skip
        args = [self._prefix, escape(run.run_id), escape(run.workflow), _wire(_run_fields(run)),
                json.dumps(dict(rows.state)), json.dumps(steps)]  # fmt: skip
        with self._backend.errors():
            stored = int(await scripts.import_run(args=args))
        if stored < 0:
            raise ConflictError(
                f"a step of run {run.run_id!r} is stored already (its id or its name)",
                run_id=run.run_id,
            )
        return stored == 1

    async def _get_step(self, run_id: str, step_name: str) -> StepRow | None:
        _, scripts = await self._ready()
        with self._backend.errors():
            flat = await scripts.get_step(args=[self._prefix, escape(run_id), step_name])
        return _step(_pairs(flat)) if flat else None

    async def _list_steps(self, run_id: str) -> builtins.list[StepRow]:
        _, scripts = await self._ready()
        with self._backend.errors():
            found = await scripts.list_steps(args=[self._prefix, escape(run_id)])
        rows = [_step(_pairs(flat)) for flat in found]
        return sorted(rows, key=lambda row: (row["created_ms"], row["step_name"]))

    async def _update_step(
        self, match: StepMatch, updates: Sequence[StepUpdate]
    ) -> tuple[bool, StepRow] | None:
        plan = [
            {
                "from": None if u.from_statuses is None else list(u.from_statuses),
                "changes": {k: None if v is None else str(v) for k, v in u.changes.items()},
                "new_attempt": u.new_attempt,
            }
            for u in updates
        ]
        args = [
            self._prefix,
            "" if match.step_id is None else escape(match.step_id),
            escape(match.run_id or ""),
            match.step_name or "",
            json.dumps(plan),
        ]
        _, scripts = await self._ready()
        with self._backend.errors():
            outcome = await scripts.update_step(args=args)
        if not outcome:
            return None
        applied, flat = outcome
        return bool(int(applied)), _step(_pairs(flat))

    async def _list_history(self, run_id: str) -> builtins.list[StepRow]:
        _, scripts = await self._ready()
        with self._backend.errors():
            found = await scripts.list_history(args=[self._prefix, escape(run_id)])
        rows = [_step(json.loads(text)) for text in found]
        return sorted(
            rows, key=lambda row: (row["created_ms"], row["attempt_count"], row["step_name"])
        )

    async def _find_undispatched_steps(self, before_ms: int, limit: int) -> builtins.list[StepRow]:
        client, _ = await self._ready()
        with self._backend.errors():
            ids = _texts(
                await client.zrangebyscore(
                    self._layout.pending, "-inf", f"({before_ms}", start=0, num=limit
                )
            )
        found = await self._rows([f"{self._prefix}:step:{step_id}" for step_id in ids])
        return [_step(fields) for fields in found]

    # -- versions -------------------------------------------------------------------------

    def _version_key(self, workflow_name: str, graph_hash: str) -> str:
        return self._layout.key("version", workflow_name, graph_hash)

    async def _insert_version(self, row: VersionRow) -> None:
        fields = {
            "workflow_name": row.workflow_name, "graph_hash": row.graph_hash, "graph": row.graph,
            "source": row.source, "status": row.status, "created_ms": row.created_ms,
        }  # fmt: skip
        _, scripts = await self._ready()
        key = self._version_key(row.workflow_name, row.graph_hash)
        with self._backend.errors():
            await scripts.insert_version(keys=[key], args=[self._prefix, _wire(fields)])

    async def _set_version_status(self, workflow_name: str, graph_hash: str, status: str) -> bool:
        _, scripts = await self._ready()
        key = self._version_key(workflow_name, graph_hash)
        with self._backend.errors():
            return bool(int(await scripts.set_version_status(keys=[key], args=["", status])))

    async def _get_version(self, workflow_name: str, graph_hash: str) -> VersionRow | None:
        found = await self._rows([self._version_key(workflow_name, graph_hash)])
        if not found:
            return None
        f = found[0]
        return VersionRow(f["workflow_name"], f["graph_hash"], f["graph"], f.get("source"),
                          f["status"], int(f["created_ms"]))  # fmt: skip

    # -- the run lock ---------------------------------------------------------------------

    async def _lock_try_acquire(self, run_id: str, owner: str, lease_ms: int) -> int | None:
        _, scripts = await self._ready()
        keys = [self._layout.key("lease", run_id), self._layout.key("fence", run_id)]
        with self._backend.errors():
            token = await scripts.lock_acquire(keys=keys, args=[owner, lease_ms])
        return None if token is None else int(token)

    async def _lock_renew(self, run_id: str, owner: str, lease_ms: int) -> bool:
        _, scripts = await self._ready()
        with self._backend.errors():
            renewed = await scripts.lock_renew(
                keys=[self._layout.key("lease", run_id)], args=[owner, lease_ms]
            )
        return int(renewed) == 1

    async def _lock_release(self, run_id: str, owner: str) -> None:
        _, scripts = await self._ready()
        with self._backend.errors():
            await scripts.lock_release(keys=[self._layout.key("lease", run_id)], args=[owner])
