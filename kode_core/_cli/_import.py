"""``kode import``: an export's lines checked whole, then appended.

Nothing is written unless every line is good: a first pass parses each line and checks
its key and entry with the rules the store applies (:meth:`SessionKey.parse`,
:func:`encode_entry`), a second pass appends, so memory holds one batch whatever the
size of the input. Standard input is first spooled to a temporary file to be read
twice; that copy is a plain blocking read, so Ctrl-C stops it (inside the event loop a
blocked read would not see the signal). An import interrupted while writing keeps the
batches it wrote; importing the file again completes it (entries are skipped by uuid).
Workflow runs are checked too before anything is written, each run's lines as one whole
(:mod:`._workflow_lines`), and stored last, a run at a time, skipped when stored.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Any

import anyio

from .._builders import BackendPool
from .._descriptor import StoreConfig
from .._errors import InvalidDataError, InvalidEntryError, InvalidKeyError
from ..sessions import SessionKey, SessionStore, encode_entry
from ._common import CliError, is_terminal, open_store, session_settings, store_config
from ._conversations import ConversationLine, import_lines, open_conversations, parse_conversation
from ._progress import progress_bar
from ._workflow_lines import (
    WorkflowLine,
    WorkflowTotals,
    group_runs,
    import_runs,
    open_workflow_store,
    parse_workflow_line,
    workflow_limit,
)

#: Entries per append of an import; the stores take each batch atomically.
IMPORT_BATCH = 500
#: Lines checked between two checkpoints of the event loop, where Ctrl-C is seen.
_CHECKPOINT_LINES = 1000
STDIN_NOTE = (
    "kode import: reading JSON lines from standard input until end of input (Ctrl-D); "
    "pipe a file in or give --file FILE"
)

_Line = tuple[dict[str, str], dict[str, Any]]


def run_import(args: argparse.Namespace) -> int:
    config = store_config(args)
    if args.file not in (None, "-"):
        try:
            lines = open(args.file, "rb")  # noqa: SIM115 - the with below closes it
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
        with lines:
            return anyio.run(functools.partial(import_file, config, lines))
    if is_terminal(sys.stdin):
        print(STDIN_NOTE, file=sys.stderr)
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool)
        spool.seek(0)
        return anyio.run(functools.partial(import_file, config, spool))


async def import_file(config: StoreConfig, lines: IO[bytes]) -> int:
    """Check every line of ``lines``, then append them to the store; print a summary."""
    started = time.monotonic()
    async with BackendPool(config.defaults(auto_migrate=False)) as pool:
        max_entry_bytes = session_settings(pool, config).max_entry_bytes
        workflow_bytes = workflow_limit(pool, config)
    total = 0  # transcript entries, what the progress bar counts
    try:
        for number, item in enumerate(parse_lines(lines, max_entry_bytes), start=1):
            total += not isinstance(item, (ConversationLine, WorkflowLine))
            if number % _CHECKPOINT_LINES == 0:
                await anyio.lowlevel.checkpoint()
        lines.seek(0)
        runs = _check_runs(_workflow_lines(lines, max_entry_bytes), workflow_bytes, config)
    except InvalidDataError as exc:
        raise InvalidDataError(f"{exc}; nothing was stored") from None
    lines.seek(0)
    async with open_store(config) as (_, store):
        read, stored = await append_lines(store, parse_lines(lines, max_entry_bytes), total)
    conversations = None
    lines.seek(0)
    records = (
        item for item in parse_lines(lines, max_entry_bytes) if isinstance(item, ConversationLine)
    )
    first = next(records, None)
    if first is not None:  # streamed: import_lines holds one batch of messages at a time
        async with open_conversations(config, existing=False) as stores:
            if stores is None:
                raise CliError(f"kind {config.kind!r} keeps no agent threads and runs")
            conversations = await import_lines(*stores, itertools.chain([first], records))
    workflows: WorkflowTotals | None = None
    if runs:
        lines.seek(0)
        async with open_workflow_store(config, existing=False) as workflow_store:
            assert workflow_store is not None  # _check_runs refused a kind without one
            with progress_bar("workflow runs", runs) as bar:
                grouped = group_runs(_workflow_lines(lines, max_entry_bytes))
                workflows = await import_runs(workflow_store, grouped, bar)
    print(
        f"imported {read} entries into {config.describe()}: {stored} stored, "
        f"{read - stored} skipped as already present, {time.monotonic() - started:.1f} s"
    )
    if conversations is not None:
        print(f"imported agent threads and runs: {conversations.describe()}")
    if workflows is not None:
        print(f"imported workflow state: {workflows.describe()}")
    return 0


def _workflow_lines(lines: IO[bytes], max_entry_bytes: int) -> Iterator[WorkflowLine]:
    return (item for item in parse_lines(lines, max_entry_bytes) if isinstance(item, WorkflowLine))


def _check_runs(lines: Iterator[WorkflowLine], max_bytes: int | None, config: StoreConfig) -> int:
    """How many workflow runs ``lines`` hold, each checked whole as the store will."""
    runs = 0
    for run in group_runs(lines):
        if max_bytes is None:
            raise CliError(f"kind {config.kind!r} keeps no workflow state")
        run.rows(max_bytes)
        runs += 1
    return runs


def parse_lines(
    lines: IO[bytes], max_entry_bytes: int
) -> Iterator[_Line | ConversationLine | WorkflowLine]:
    """``(key, entry)`` of each non-blank line; :class:`InvalidDataError` names the line."""
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            yield parse_line(number, raw, max_entry_bytes)


def parse_line(
    number: int, raw: bytes, max_entry_bytes: int
) -> _Line | ConversationLine | WorkflowLine:
    """``(key, entry)`` of an export line, checked as the store checks an append."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDataError(f"line {number}: not UTF-8 text (byte {exc.start + 1})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidDataError(f"line {number}: not valid JSON ({exc.msg})") from None
    except ValueError as exc:  # NaN, Infinity
        raise InvalidDataError(f"line {number}: not valid JSON ({exc})") from None
    except RecursionError:
        raise InvalidDataError(f"line {number}: JSON nested too deep to read") from None
    if isinstance(value, dict) and (conversation := parse_conversation(number, value)):
        return conversation
    if isinstance(value, dict) and (workflow := parse_workflow_line(number, value)):
        return workflow
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) not in ("key", "entry"):
        raise InvalidDataError(f"line {number}: unknown line kind {next(iter(value))!r}")
    if not isinstance(value, dict) or set(value) != {"key", "entry"}:
        raise InvalidDataError(f'line {number}: expected {{"key": {{...}}, "entry": {{...}}}}')
    try:
        key = SessionKey.parse(value["key"]).as_dict()
        encode_entry(0, value["entry"], max_entry_bytes)
    except InvalidKeyError as exc:
        raise InvalidDataError(f"line {number}: {exc}") from None
    except InvalidEntryError as exc:
        raise InvalidDataError(f"line {number}: the entry {exc.reason}") from None
    entry: dict[str, Any] = value["entry"]
    return key, entry


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


async def append_lines(
    store: SessionStore, lines: Iterator[_Line | ConversationLine | WorkflowLine], total: int
) -> tuple[int, int]:
    """Append checked lines in batches per key; ``(entries read, entries stored)``."""
    read = stored = 0
    key: dict[str, str] | None = None
    batch: list[dict[str, Any]] = []
    with progress_bar("entries", total) as bar:

        async def flush() -> int:
            if key is None or not batch:
                return 0
            before = await store.count_entries(key)
            await store.append(key, batch)
            added = await store.count_entries(key) - before
            bar.advance(len(batch))
            bar.note(f"{stored + added} stored, {read - stored - added} skipped")
            return added

        for line in lines:
            if isinstance(line, (ConversationLine, WorkflowLine)):
                continue  # stored after the transcripts
            line_key, entry = line
            if line_key != key or len(batch) >= IMPORT_BATCH:
                stored += await flush()
                key, batch = line_key, []
            batch.append(entry)
            read += 1
        stored += await flush()
    return read, stored
