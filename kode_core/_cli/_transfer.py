"""``kode export``, ``kode import`` and ``kode copy``: transcripts out, in, and across engines.

The export line format, one JSON object per line (UTF-8)::

    {"key": {"project_key": "p", "session_id": "s"}, "entry": {"type": "user", ...}}
    {"key": {"project_key": "p", "session_id": "s", "subpath": "subagents/agent-1"}, "entry": ...}

``key`` is the Claude Agent SDK's session key (``subpath`` only for a subagent
transcript), ``entry`` the entry exactly as stored. Lines come project by project, session
by session (code point order), the main transcript before its subpaths, entries in order.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import IO, Any

from .._errors import InvalidDataError
from ..sessions import SessionKey, SessionStore
from ._common import HelpFormatter, add_store_argument, open_store, resolve
from ._copy import copy_store

FORMAT_HELP = (
    "line format: one JSON object per line,\n"
    '  {"key": {"project_key": P, "session_id": S[, "subpath": SUB]}, "entry": {...}}\n'
    "in project, session, transcript (main first) and entry order."
)
#: Entries per append of an import; the stores take each batch atomically.
IMPORT_BATCH = 500
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="write transcripts as JSON lines",
        formatter_class=HelpFormatter,
        description="Write every transcript of the store (or of one project) to stdout,\n"
        f"one entry per line; reads only.\n\n{FORMAT_HELP}\n\n"
        "examples:\n"
        "  kode export sqlite:///kode.db > kode.jsonl\n"
        "  kode export 'postgresql://kode@db/kode#tenant_a' --project my-project > p.jsonl",
    )
    add_store_argument(export)
    export.add_argument("--project", "-p", help="only this project")
    export.set_defaults(run=run_export)

    load = commands.add_parser(
        "import",
        help="append transcripts from JSON lines (idempotent by uuid)",
        formatter_class=HelpFormatter,
        description="Append the entries of an export, read from stdin, to the store. An\n"
        "entry whose uuid the transcript holds already is skipped, so importing a\n"
        "file twice stores it once (entries without uuid are appended again).\n\n"
        f"{FORMAT_HELP}\n\n"
        "example:\n  kode import 'redis://cache:6379/0#tenant_a' < kode.jsonl",
    )
    add_store_argument(load)
    load.set_defaults(run=run_import)

    copy = commands.add_parser(
        "copy",
        help="copy every transcript from one store to another",
        formatter_class=HelpFormatter,
        description="Copy every transcript (main and subagent ones) from one store to\n"
        "another, any engines; the target rebuilds the summaries. It streams (memory\n"
        "stays flat however big the source), shows progress on a terminal and ends with\n"
        "a summary. Entries the target holds already are skipped, so running it again\n"
        "copies nothing twice and an interrupted copy, run again, finishes the job.\n\n"
        "examples:\n"
        "  kode copy --from sqlite:///.kode/kode.db --to postgresql://kode@db:5432/kode\n"
        "  kode copy --from mongodb://db/agents --to 'redis://cache/0#tenant_a' -p proj",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="STORE")
    copy.add_argument("--to", dest="target", required=True, metavar="STORE")
    copy.add_argument("--project", "-p", help="only this project")
    copy.set_defaults(run=run_copy)


async def transcript_keys(
    store: SessionStore, project: str | None = None
) -> AsyncIterator[dict[str, str]]:
    """Every transcript key of the store (or one project), in export order, page by page."""
    projects = [project] if project is not None else None
    after_project: str | None = None
    while True:
        if projects is None:
            page = await store.list_projects_page(after=after_project)
            batch, after_project = page.projects, page.next_after
        else:
            batch, after_project = projects, None
        for project_key in batch:
            async for key in _project_keys(store, project_key):
                yield key
        if after_project is None:
            return


async def _project_keys(store: SessionStore, project: str) -> AsyncIterator[dict[str, str]]:
    after: str | None = None
    while True:
        page = await store.list_sessions_page(project, after=after)
        for listing in page.sessions:
            main = {"project_key": project, "session_id": listing.session_id}
            yield main
            for subpath in await store.list_subkeys(main):
                yield {**main, "subpath": subpath}
        if page.next_after is None:
            return
        after = page.next_after


async def run_export(args: argparse.Namespace) -> int:
    config = resolve(args.store, args.namespace)
    out = sys.stdout
    lines = 0
    async with open_store(config, auto_migrate=False) as (_, store):
        async for key in transcript_keys(store, args.project):
            async for stored in store.iter_entries(key):
                out.write(_ENCODER.encode({"key": key, "entry": stored.entry}) + "\n")
                lines += 1
    out.flush()
    print(f"kode export: {lines} entries from {config.describe()}", file=sys.stderr)
    return 0


def parse_line(number: int, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(key, entry)`` of an export line; :class:`InvalidDataError` names the line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDataError(f"line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict) or set(value) != {"key", "entry"}:
        raise InvalidDataError(f'line {number}: expected {{"key": {{...}}, "entry": {{...}}}}')
    try:
        key = SessionKey.parse(value["key"]).as_dict()
    except InvalidDataError as exc:
        raise InvalidDataError(f"line {number}: {exc}") from None
    if not isinstance(value["entry"], dict):
        raise InvalidDataError(f"line {number}: entry must be a JSON object")
    return key, value["entry"]


async def run_import(args: argparse.Namespace) -> int:
    config = resolve(args.store, args.namespace)
    started = time.monotonic()
    async with open_store(config) as (_, store):
        read, stored = await import_lines(store, sys.stdin)
    print(
        f"imported {read} entries into {config.describe()}: {stored} stored, "
        f"{read - stored} skipped as already present, {time.monotonic() - started:.1f} s"
    )
    return 0


async def import_lines(store: SessionStore, lines: IO[str]) -> tuple[int, int]:
    """Append an export's lines in batches per key; ``(entries read, entries stored)``."""
    read = stored = 0
    key: dict[str, Any] | None = None
    batch: list[dict[str, Any]] = []

    async def flush() -> int:
        if key is None or not batch:
            return 0
        before = await store.count_entries(key)
        await store.append(key, batch)
        return await store.count_entries(key) - before

    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        line_key, entry = parse_line(number, text)
        if line_key != key or len(batch) >= IMPORT_BATCH:
            stored += await flush()
            key, batch = line_key, []
        batch.append(entry)
        read += 1
    stored += await flush()
    return read, stored


async def run_copy(args: argparse.Namespace) -> int:
    source, target = resolve(args.source), resolve(args.target)
    started = time.monotonic()
    async with (
        open_store(source, auto_migrate=False) as (_, reader),
        open_store(target) as (_, writer),
    ):
        totals = await copy_store(reader, writer, transcript_keys, project=args.project)
    print(
        f"copied {totals.sessions} sessions ({totals.transcripts} transcripts) from "
        f"{source.describe()} to {target.describe()}: {totals.written} entries written, "
        f"{totals.skipped} skipped as already present, {time.monotonic() - started:.1f} s"
    )
    return 0
