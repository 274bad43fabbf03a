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

from ..sessions import SessionStore
from ._common import (
    HelpFormatter,
    add_store_argument,
    is_terminal,
    open_existing,
    open_store,
    resolve,
    store_config,
)
from ._conversations import copy_conversations, export_lines, open_conversations
from ._copy import CopyTotals, copy_store, count_sessions
from ._import import run_import
from ._progress import progress_bar
from ._workflow_lines import copy_workflows, open_workflow_store
from ._workflow_lines import export_lines as workflow_lines

FORMAT_HELP = (
    "line format: one JSON object per line,\n"
    '  {"key": {"project_key": P, "session_id": S[, "subpath": SUB]}, "entry": {...}}\n'
    "in project, session, transcript (main first) and entry order; then agent threads\n"
    'and runs: {"thread": ...}, {"thread_message": ...}, {"run": ...}, {"run_score": ...},\n'
    '{"working_memory": ...} lines; then workflow runs, newest first, each with its state,\n'
    'steps and attempts: {"workflow_run": ...}, {"workflow_state": {"run_id": R,\n'
    '"state": {...}}}, {"workflow_step": ...}, {"workflow_attempt": ...} lines.'
)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="write transcripts as JSON lines",
        formatter_class=HelpFormatter,
        description="Write every transcript of the store (or of one project) to stdout,\n"
        "one entry per line; reads only. Agent threads and runs and workflow runs\n"
        "follow (not with --project: they belong to no project).\n\n"
        f"{FORMAT_HELP}\n\n"
        "examples:\n"
        "  kode export --store sqlite:///kode.db > kode.jsonl\n"
        "  kode export -s 'postgresql://kode@db/kode#tenant_a' --project my-project > p.jsonl",
    )
    add_store_argument(export, positional=True)
    export.add_argument("--project", "-p", help="only this project")
    export.set_defaults(run=run_export)

    load = commands.add_parser(
        "import",
        help="append transcripts from JSON lines (idempotent by uuid)",
        formatter_class=HelpFormatter,
        description="Append the entries of an export (a file, or standard input) to the\n"
        "store. Every line is checked first: one bad line (not JSON, a bad key or\n"
        "entry) is reported by its line number and nothing is stored. An entry whose\n"
        "uuid the transcript holds already is skipped, so importing a file twice\n"
        "stores it once (entries without uuid are appended again).\n\n"
        f"{FORMAT_HELP}\n\n"
        "examples:\n"
        "  kode import --store 'redis://cache:6379/0#tenant_a' --file kode.jsonl\n"
        "  kode export -s sqlite:///a.db | kode import -s sqlite:///b.db",
    )
    add_store_argument(load, positional=True)
    load.add_argument(
        "--file", "-f", metavar="FILE", help="read this export file (default: standard input)"
    )
    load.set_defaults(run=run_import)

    copy = commands.add_parser(
        "copy",
        help="copy every transcript from one store to another",
        formatter_class=HelpFormatter,
        description="Copy every transcript (main and subagent ones) from one store to\n"
        "another, any engines; the target rebuilds the summaries. It streams (memory\n"
        "stays flat however big the source), shows progress on a terminal and ends with\n"
        "a summary. Entries the target holds already are skipped, so running it again\n"
        "copies nothing twice and an interrupted copy, run again, finishes the job.\n"
        "Agent threads and runs, and workflow runs with their steps, attempts and state,\n"
        "follow (not with --project); a run the target holds is skipped.\n\n"
        "examples:\n"
        "  # every transcript of the local SQLite store into PostgreSQL:\n"
        "  kode copy --from sqlite:///.kode/kode.db --to postgresql://kode@db:5432/kode\n"
        "  # one project from MongoDB into a Redis namespace:\n"
        "  kode copy --from mongodb://db/agents --to 'redis://cache/0#tenant_a' -p proj",
    )
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="STORE",
        help="the store to copy from (read only; it must exist), a URL or JSON descriptor",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="STORE",
        help="the store to copy into (created or migrated as needed)",
    )
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


async def _no_keys() -> AsyncIterator[dict[str, str]]:
    return
    yield


async def run_export(args: argparse.Namespace) -> int:
    config = store_config(args)
    out = sys.stdout
    lines = 0
    async with open_existing(config) as store:
        has_sessions = await store.schema_version() != 0  # a store of threads only: none
        total = (
            await count_sessions(store, transcript_keys, args.project)
            if is_terminal() and has_sessions
            else None
        )
        with progress_bar("sessions", total) as bar:
            keys = transcript_keys(store, args.project) if has_sessions else _no_keys()
            async for key in keys:
                if "subpath" not in key:
                    bar.advance()
                async for stored in store.iter_entries(key):
                    out.write(_ENCODER.encode({"key": key, "entry": stored.entry}) + "\n")
                    lines += 1
                bar.note(f"{lines} entries")
    records = 0
    async with open_conversations(config, existing=True) as conversations:
        if conversations is not None and args.project is None:  # threads belong to no project
            async for line in export_lines(*conversations):
                out.write(_ENCODER.encode(line) + "\n")
                records += 1
    workflow_records = 0
    async with open_workflow_store(config, existing=True) as workflows:
        if workflows is not None and args.project is None:  # runs belong to no project
            async for line in workflow_lines(workflows):
                out.write(_ENCODER.encode(line) + "\n")
                workflow_records += 1
    out.flush()
    print(
        f"kode export: {lines} entries, {records} thread and run records and "
        f"{workflow_records} workflow records from {config.describe()}",
        file=sys.stderr,
    )
    if args.project is not None:
        print(
            "kode export: agent threads, runs and workflow runs belong to no project: "
            "not exported with --project",
            file=sys.stderr,
        )
    return 0


async def run_copy(args: argparse.Namespace) -> int:
    source, target = resolve(args.source), resolve(args.target)
    started = time.monotonic()
    async with (
        open_existing(source) as reader,
        open_store(target) as (_, writer),
    ):
        totals = CopyTotals()
        if await reader.schema_version() != 0:  # a store of threads only has no sessions
            totals = await copy_store(reader, writer, transcript_keys, project=args.project)
    conversations = None
    if args.project is None:  # threads belong to no project
        async with (
            open_conversations(source, existing=True) as read,
            open_conversations(target, existing=False) as write,
        ):
            if read is not None and write is not None:
                conversations = await copy_conversations(read, write)
    workflows = None
    if args.project is None:  # workflow runs belong to no project
        async with (
            open_workflow_store(source, existing=True) as read_runs,
            open_workflow_store(target, existing=False) as write_runs,
        ):
            if read_runs is not None and write_runs is not None:
                workflows = await copy_workflows(read_runs, write_runs)
    print(
        f"copied {totals.sessions} sessions ({totals.transcripts} transcripts) from "
        f"{source.describe()} to {target.describe()}: {totals.written} entries written, "
        f"{totals.skipped} skipped as already present, {time.monotonic() - started:.1f} s"
    )
    if conversations is not None:
        print(f"copied agent threads and runs: {conversations.describe()}")
    if workflows is not None:
        print(f"copied workflow state: {workflows.describe()}")
    return 0
