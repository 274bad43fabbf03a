"""``kode threads list|show`` and ``kode runs list|show``: read agent threads and runs.

Reads only: the stores are opened with ``auto_migrate=False``, so reading creates
nothing, and a store that is not there is reported as such. Data goes to stdout;
notes go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .._record_codec import to_ms
from ..runs import RUNS, RunStore
from ..threads import THREADS, AgentMessage, ThreadStore
from ._common import (
    CliError,
    HelpFormatter,
    add_store_argument,
    console,
    format_ms,
    missing_store,
    never_migrated,
    open_families,
    quoted,
    store_config,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_threads(commands)
    _add_runs(commands)


def _add_threads(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    threads = commands.add_parser(
        "threads",
        help="list or show agent threads",
        formatter_class=HelpFormatter,
        description="Read agent threads and their messages (reads only).\n\n"
        "examples:\n"
        "  kode threads list --owner tenant-a\n"
        "  kode threads show t-1 --tail 20",
    )
    subcommands = threads.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
    listing = subcommands.add_parser(
        "list",
        help="a table of threads, newest update first",
        formatter_class=HelpFormatter,
        description="Threads newest update first, filtered before paging.\n\n"
        "examples:\n"
        "  kode threads list --owner tenant-a --owner tenant-b  # tenant-a, tenant-a:…\n"
        "  kode threads list --agent support --limit 20 --offset 20 --json",
    )
    listing.add_argument(
        "--owner",
        action="append",
        metavar="OWNER",
        help="only threads whose resource id is OWNER or starts with OWNER: (repeatable)",
    )
    listing.add_argument("--agent", metavar="NAME", help="only threads with a run of this agent")
    listing.add_argument("--resource", metavar="ID", help="only this resource's threads")
    listing.add_argument("--limit", type=_count, default=50, help="rows (default 50)")
    listing.add_argument("--offset", type=_count, default=0, help="rows to skip (default 0)")
    listing.add_argument("--json", action="store_true", help="print the threads as JSON lines")
    add_store_argument(listing)
    listing.set_defaults(run=run_threads_list)

    show = subcommands.add_parser(
        "show",
        help="a thread's messages",
        formatter_class=HelpFormatter,
        description="A thread's messages in stored order; --json prints each as stored.\n\n"
        "examples:\n"
        "  kode threads show t-1 --tail 10\n"
        "  kode threads show t-1 --json",
    )
    show.add_argument("thread", metavar="THREAD")
    show.add_argument("--tail", type=_count, metavar="N", help="only the last N messages")
    show.add_argument("--json", action="store_true", help="print the messages as JSON lines")
    add_store_argument(show)
    show.set_defaults(run=run_threads_show)


def _add_runs(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    runs = commands.add_parser(
        "runs",
        help="list a thread's agent runs or show one",
        formatter_class=HelpFormatter,
        description="Read agent runs, their pending approvals and scores (reads only).\n\n"
        "examples:\n"
        "  kode runs list t-1\n"
        "  kode runs show r-1 --json",
    )
    subcommands = runs.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
    listing = subcommands.add_parser(
        "list",
        help="a thread's runs, newest first",
        formatter_class=HelpFormatter,
        description="A thread's runs, newest first.\n\nexamples:\n  kode runs list t-1 --json",
    )
    listing.add_argument("thread", metavar="THREAD")
    listing.add_argument("--json", action="store_true", help="print the runs as JSON lines")
    add_store_argument(listing)
    listing.set_defaults(run=run_runs_list)

    show = subcommands.add_parser(
        "show",
        help="a run with its approvals and scores",
        formatter_class=HelpFormatter,
        description="A run as stored, with its scores.\n\nexamples:\n  kode runs show r-1",
    )
    show.add_argument("run_id", metavar="RUN")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_argument(show)
    show.set_defaults(run=run_runs_show)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")
    return int(text)


@asynccontextmanager
async def _open(
    args: argparse.Namespace, family: str
) -> AsyncIterator[tuple[ThreadStore, RunStore]]:
    """Both stores of the named store, once ``family`` is known to be stored there."""
    config = store_config(args)
    missing = missing_store(config)
    if missing is not None:
        raise CliError(missing)
    async with open_families(config, auto_migrate=False) as (_, stores):
        if THREADS.name not in stores or RUNS.name not in stores:
            raise CliError(f"kind {config.kind!r} keeps no agent threads and runs")
        empty = await never_migrated(config, stores)
        if empty is not None:
            raise CliError(empty)
        threads, runs = stores[THREADS.name], stores[RUNS.name]
        assert isinstance(threads, ThreadStore)
        assert isinstance(runs, RunStore)
        if await stores[family].schema_version() == 0:
            raise CliError(f"no agent {family} in {config.describe()}")
        yield threads, runs


def message_text(message: AgentMessage) -> str:
    """A message on one line, as a person reads it."""
    parts: list[str] = []
    if isinstance(message.content, str):
        parts.append(message.content)
    elif message.content:
        for part in message.content:
            parts.append(part.text if part.text is not None else f"[{part.type.value}]")
    if message.reasoning_content:
        parts.append(f"[reasoning] {message.reasoning_content}")
    for call in message.tool_calls or ():
        parts.append(f"[tool call {call.name}] {json.dumps(call.args, ensure_ascii=False)}")
    for result in message.tool_results or ():
        outcome = f"error: {result.error}" if result.error else json.dumps(result.result)
        parts.append(f"[tool result {result.name}] {outcome}")
    return " | ".join(part.replace("\n", " ") for part in parts)


async def run_threads_list(args: argparse.Namespace) -> int:
    async with _open(args, THREADS.name) as (threads, _):
        found = await threads.console.list_threads(
            agent_name=args.agent,
            resource_id=args.resource,
            owners=args.owner,
            limit=args.limit,
            offset=args.offset,
        )
    if args.json:
        for thread in found:
            print(thread.to_json())
        return 0
    if not found:
        print("kode threads list: no threads match", file=sys.stderr)
        return 0
    from rich.table import Table

    table = Table(title="threads", title_justify="left")
    for column in ("thread", "resource", "last update", "title"):
        table.add_column(column, no_wrap=column != "title")
    for thread in found:
        updated = format_ms(to_ms(thread.updated_at))
        table.add_row(thread.id, thread.resource_id, updated, thread.title or "")
    console().print(table)
    return 0


async def run_threads_show(args: argparse.Namespace) -> int:
    async with _open(args, THREADS.name) as (threads, _):
        thread = await threads.console.get_thread(args.thread)
        if thread is None:
            raise CliError(f"no thread {quoted(args.thread)}")
        messages = await threads.get_messages(args.thread, last_n=args.tail)
    if args.json:
        for message in messages:
            print(message.to_json())
        return 0
    from rich.text import Text

    out = console()
    out.print(Text(f"thread {thread.id} of {thread.resource_id}: {thread.title or ''}"))
    for message in messages:
        line = Text(f"{format_ms(to_ms(message.created_at))}  ")
        line.append(f"{message.role.value:<10}", style="bold")
        line.append(f" {message_text(message)}")
        out.print(line)
    return 0


async def run_runs_list(args: argparse.Namespace) -> int:
    async with _open(args, RUNS.name) as (_, runs):
        found = await runs.get_runs_by_thread(args.thread)
    if args.json:
        for run in found:
            print(run.to_json())
        return 0
    if not found:
        print(f"kode runs list: no runs of thread {quoted(args.thread)}", file=sys.stderr)
        return 0
    from rich.table import Table

    table = Table(title=f"runs of {args.thread!r}", title_justify="left")
    for column in ("run", "agent", "status", "created", "pending approvals"):
        table.add_column(column, no_wrap=True)
    for run in found:
        table.add_row(
            run.run_id,
            run.agent_name,
            run.status.value,
            format_ms(to_ms(run.created_at)),
            str(len(run.pending_approvals or ())),
        )
    console().print(table)
    return 0


async def run_runs_show(args: argparse.Namespace) -> int:
    async with _open(args, RUNS.name) as (_, runs):
        run = await runs.get_run(args.run_id)
        if run is None:
            raise CliError(f"no run {quoted(args.run_id)}")
        scores = await runs.get_scores(args.run_id)
    shown: dict[str, Any] = {"run": run.to_dict(), "scores": [s.to_dict() for s in scores]}
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
        return 0
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0
