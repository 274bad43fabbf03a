"""Agent threads and runs in ``kode export``, ``kode import`` and ``kode copy``.

After a store's transcripts, an export writes its agent threads and runs, one JSON
object per line, each keyed by what it holds::

    {"thread": {...}}                                   a thread, as stored
    {"thread_message": {"thread_id": T, "message": {...}}}   its messages, in order
    {"run": {...}}                                      its runs, newest first
    {"run_score": {...}}                                each run's scores, in order
    {"working_memory": {"scope": S, "id": I, "data": {...}}}  after every thread

Importing is idempotent: a thread the target holds gains only the messages it lacks,
a run it holds (and that run's scores) is skipped, working memory is replaced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import attrs

from .._builders import BackendPool
from .._descriptor import StoreConfig
from .._errors import ConflictError, InvalidDataError, KodeError
from ..runs import RUNS, Run, RunScore, RunStore
from ..threads import MAX_LIST_LIMIT, THREADS, AgentMessage, MemoryScope, Thread, ThreadStore

#: The line kinds this module reads and writes, by their one key.
KINDS = frozenset({"thread", "thread_message", "run", "run_score", "working_memory"})
#: Messages per import batch.
MESSAGE_BATCH = 1000


@attrs.frozen
class ConversationLine:
    """One checked line of an export that holds a thread, message, run, score or memory."""

    kind: str
    value: Any


@attrs.define
class ConversationTotals:
    """What an import or copy of threads and runs did: threads and runs new to the
    target, messages read (those it held are skipped), scores and memories stored."""

    threads: int = 0
    messages: int = 0
    runs: int = 0
    scores: int = 0
    memories: int = 0

    def describe(self) -> str:
        return (
            f"{self.threads} threads, {self.messages} messages, {self.runs} runs, "
            f"{self.scores} scores, {self.memories} working memories"
        )


@asynccontextmanager
async def open_conversations(
    config: StoreConfig, *, existing: bool, **overrides: Any
) -> AsyncIterator[tuple[ThreadStore, RunStore] | None]:
    """The thread and run stores of ``config``; None when its kind keeps none or, with
    ``existing``, when none were ever stored there (then nothing is created)."""
    if existing:
        overrides.setdefault("auto_migrate", False)
    async with BackendPool(config.defaults(**overrides)) as pool:
        if not (pool.provides(config.kind, THREADS.name) and pool.provides(config.kind, RUNS.name)):
            yield None
            return
        threads = pool.build(THREADS.name, config.descriptor())
        runs = pool.build(RUNS.name, config.descriptor())
        assert isinstance(threads, ThreadStore)
        assert isinstance(runs, RunStore)
        if existing and (await threads.schema_version() == 0 or await runs.schema_version() == 0):
            yield None
            return
        yield threads, runs


async def export_lines(threads: ThreadStore, runs: RunStore) -> AsyncIterator[dict[str, Any]]:
    """Every thread with its messages, runs and scores, then every working memory."""
    offset = 0
    while True:
        page = await threads.console.list_threads(limit=MAX_LIST_LIMIT, offset=offset)
        for thread in page:
            yield {"thread": thread.to_dict()}
            before: str | None = None
            batches: list[list[AgentMessage]] = []
            while True:  # newest page first: read back, then write in order
                batch = await threads.get_messages(thread.id, last_n=MESSAGE_BATCH, before=before)
                if not batch:
                    break
                batches.append(batch)
                before = batch[0].id
            for batch in reversed(batches):
                for message in batch:
                    yield {"thread_message": {"thread_id": thread.id, "message": message.to_dict()}}
            for run in await runs.get_runs_by_thread(thread.id):
                yield {"run": run.to_dict()}
                for score in await runs.get_scores(run.run_id):
                    yield {"run_score": score.to_dict()}
        if len(page) < MAX_LIST_LIMIT:
            break
        offset += len(page)
    for scope, id, data in await threads.list_working_memory():
        yield {"working_memory": {"scope": scope.value, "id": id, "data": data}}


def parse_conversation(number: int, value: dict[str, Any]) -> ConversationLine | None:
    """The checked line ``value`` holds, or None when it is not one of :data:`KINDS`;
    :class:`~kode_core.InvalidDataError` names the line when it is one and is wrong."""
    if len(value) != 1 or next(iter(value)) not in KINDS:
        return None
    [(kind, item)] = value.items()
    try:
        if kind == "thread":
            return ConversationLine(kind, Thread.from_dict(item, "thread"))
        if kind == "run":
            return ConversationLine(kind, Run.from_dict(item, "run"))
        if kind == "run_score":
            return ConversationLine(kind, RunScore.from_dict(item, "run_score"))
        if not isinstance(item, dict):
            raise InvalidDataError(f"{kind} must be a JSON object")
        if kind == "thread_message":
            message = AgentMessage.from_dict(item.get("message"), "message")
            return ConversationLine(kind, (str(item.get("thread_id")), message))
        scope = MemoryScope(item.get("scope"))
        if not isinstance(item.get("id"), str) or not isinstance(item.get("data"), dict):
            raise InvalidDataError("working_memory needs a string id and an object data")
        return ConversationLine(kind, (scope, item["id"], item["data"]))
    except (KodeError, ValueError) as exc:
        raise InvalidDataError(f"line {number}: {exc}") from None


async def import_lines(
    threads: ThreadStore, runs: RunStore, lines: Iterable[ConversationLine]
) -> ConversationTotals:
    """Store checked lines in export order (a thread before its messages and runs)."""
    totals = ConversationTotals()
    thread: Thread | None = None
    messages: list[AgentMessage] = []
    new_runs: set[str] = set()

    async def flush() -> None:
        if thread is not None and messages:
            await threads.import_thread(thread, messages)  # skips the ids it holds
            totals.messages += len(messages)
            messages.clear()

    for line in lines:
        if line.kind == "thread_message":
            thread_id, message = line.value
            if thread is None or thread.id != thread_id:
                raise InvalidDataError(f"a message of thread {thread_id!r} before its thread")
            messages.append(message)
            if len(messages) >= MESSAGE_BATCH:
                await flush()
            continue
        await flush()
        if line.kind == "thread":
            thread = line.value
            totals.threads += await threads.import_thread(thread)
        elif line.kind == "run":
            try:
                await runs.create_run(line.value)
            except ConflictError:
                continue  # stored already: so are its scores
            new_runs.add(line.value.run_id)
            totals.runs += 1
        elif line.kind == "run_score":
            if line.value.run_id in new_runs:
                await runs.save_score(line.value)
                totals.scores += 1
        else:
            scope, id, data = line.value
            await threads.save_working_memory(id, scope, data)
            totals.memories += 1
    await flush()
    return totals


async def copy_conversations(
    source: tuple[ThreadStore, RunStore], target: tuple[ThreadStore, RunStore]
) -> ConversationTotals:
    """Copy every thread, message, run, score and working memory from ``source``."""
    totals = ConversationTotals()
    batch: list[ConversationLine] = []
    async for value in export_lines(*source):
        line = parse_conversation(0, value)
        assert line is not None
        if line.kind == "thread" and batch:  # one thread's lines at a time
            _add(totals, await import_lines(*target, batch))
            batch = []
        batch.append(line)
    if batch:
        _add(totals, await import_lines(*target, batch))
    return totals


def _add(totals: ConversationTotals, more: ConversationTotals) -> None:
    for field in attrs.fields(ConversationTotals):
        setattr(totals, field.name, getattr(totals, field.name) + getattr(more, field.name))
