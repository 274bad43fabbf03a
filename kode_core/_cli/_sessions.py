"""``kode sessions list|show|count``: read transcripts the way an operator wants to.

Reads only: the stores are opened with ``auto_migrate=False``, so reading creates
nothing, and a store that is not there (no file, a namespace never migrated) is reported
as such. Data goes to stdout; notes (no sessions, the next page) go to stderr.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from .._errors import NotSupportedError
from ..sessions import SessionStore
from ._common import (
    CliError,
    HelpFormatter,
    add_store_argument,
    console,
    entry_text,
    format_ms,
    open_existing,
    quoted,
    session_title,
    store_config,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sessions = commands.add_parser(
        "sessions",
        help="list, show or count a project's sessions",
        formatter_class=HelpFormatter,
        description="Read a project's transcripts (reads only).\n\n"
        "examples:\n"
        "  kode sessions list my-project\n"
        "  kode sessions show my-project s-1 --tail 20\n"
        "  kode sessions count my-project s-1 --subpath subagents/agent-1",
    )
    subcommands = sessions.add_subparsers(dest="subcommand", required=True, metavar="subcommand")

    listing = subcommands.add_parser(
        "list",
        help="a table of the project's sessions",
        formatter_class=HelpFormatter,
        description="The project's sessions in id order: last write, entries, subagent\n"
        "transcripts and title (from the stored summary, when there is one).\n\n"
        "examples:\n"
        "  kode sessions list my-project\n"
        "  kode sessions list my-project --store sqlite:///agents.db --limit 20 --after s-19\n"
        "  kode sessions list my-project --json  # one page and its next_after cursor",
    )
    listing.add_argument("project", metavar="PROJECT")
    listing.add_argument("--limit", type=_positive, default=100, help="rows (default 100)")
    listing.add_argument("--after", metavar="SESSION", help="start after this session id")
    listing.add_argument(
        "--json",
        action="store_true",
        help='print the page as one JSON object: {"sessions": [...], "next_after": '
        "SESSION or null}; pass next_after to --after for the next page",
    )
    add_store_argument(listing)
    listing.set_defaults(run=run_list)

    show = subcommands.add_parser(
        "show",
        help="a session's transcript",
        formatter_class=HelpFormatter,
        description="A transcript (the main one, or a subagent's with --subpath), entry by\n"
        "entry; --json prints each entry as stored, one per line.\n\n"
        "examples:\n"
        "  kode sessions show my-project s-1 --tail 10\n"
        "  kode sessions show my-project s-1 --subpath subagents/agent-1 --json",
    )
    show.add_argument("project", metavar="PROJECT")
    show.add_argument("session", metavar="SESSION")
    show.add_argument("--subpath", help="a subagent transcript, e.g. subagents/agent-1")
    show.add_argument("--tail", type=_positive, metavar="N", help="only the last N entries")
    show.add_argument("--json", action="store_true", help="print the entries as JSON lines")
    add_store_argument(show)
    show.set_defaults(run=run_show)

    count = subcommands.add_parser(
        "count",
        help="how many sessions a project has, or entries a transcript has",
        formatter_class=HelpFormatter,
        description="With PROJECT only: the number of sessions. With SESSION: the number of\n"
        "entries of its main transcript (or of --subpath). Prints one number.\n\n"
        "examples:\n"
        "  kode sessions count my-project\n"
        "  kode sessions count my-project s-1 --subpath subagents/agent-1",
    )
    count.add_argument("project", metavar="PROJECT")
    count.add_argument("session", metavar="SESSION", nargs="?")
    count.add_argument("--subpath", help="count a subagent transcript's entries")
    add_store_argument(count)
    count.set_defaults(run=run_count)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return int(text)


async def titles(store: SessionStore, project: str) -> dict[str, str]:
    """session id -> title, from the stored summaries; empty when the store keeps none."""
    try:
        summaries = await store.list_session_summaries(project)
    except NotSupportedError:
        return {}
    return {item["session_id"]: session_title(item["data"]) for item in summaries}


async def session_rows(
    store: SessionStore, project: str, *, after: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str | None]:
    """One row per session of a page: id, mtime, entries, subagents, title."""
    page = await store.list_sessions_page(project, after=after, limit=limit)
    named = await titles(store, project)
    rows = []
    for listing in page.sessions:
        key = {"project_key": project, "session_id": listing.session_id}
        rows.append(
            {
                "session_id": listing.session_id,
                "mtime": listing.mtime,
                "entries": await store.count_entries(key),
                "subpaths": await store.list_subkeys(key),
                "title": named.get(listing.session_id, ""),
            }
        )
    return rows, page.next_after


def print_session_table(rows: list[dict[str, Any]], project: str) -> None:
    from rich.table import Table

    table = Table(title=f"sessions of {project!r}", title_justify="left")
    table.add_column("session", no_wrap=True)
    table.add_column("last write", no_wrap=True)
    table.add_column("entries", justify="right")
    table.add_column("subagents", justify="right")
    table.add_column("title")
    for row in rows:
        table.add_row(
            row["session_id"],
            format_ms(row["mtime"]),
            str(row["entries"]),
            str(len(row["subpaths"])),
            row["title"],
        )
    console().print(table)


async def run_list(args: argparse.Namespace) -> int:
    config = store_config(args)
    async with open_existing(config) as store:
        rows, next_after = await session_rows(
            store, args.project, after=args.after, limit=args.limit
        )
    if args.json:
        print(json.dumps({"sessions": rows, "next_after": next_after}, ensure_ascii=False))
        return 0
    if not rows:
        print(
            f"kode sessions list: no sessions in project {quoted(args.project)} "
            f"({config.describe()})",
            file=sys.stderr,
        )
        return 0
    print_session_table(rows, args.project)
    if next_after is not None:
        more = shlex.join(["kode", "sessions", "list", args.project, "--after", next_after])
        print(f"more: {more}", file=sys.stderr)
    return 0


def print_entries(entries: list[tuple[int, dict[str, Any]]]) -> None:
    """Entries as numbered, labelled lines: what ``kode sessions show`` prints."""
    from rich.text import Text

    out = console()
    for number, entry in entries:
        label, text = entry_text(entry)
        line = Text(f"{number:>5}  ")
        line.append(f"{label:<12}", style="bold")
        line.append(f" {text}")  # a Text, so brackets in the transcript are not markup
        out.print(line)


async def run_show(args: argparse.Namespace) -> int:
    config = store_config(args)
    key = {"project_key": args.project, "session_id": args.session}
    if args.subpath:
        key["subpath"] = args.subpath
    async with open_existing(config) as store:
        total = await store.count_entries(key)
        if total == 0:
            where = ", ".join(f"{part} {quoted(value)}" for part, value in key.items())
            raise CliError(f"no entries under {where} ({config.describe()})")
        if args.tail:
            tail = await store.load_tail(key, args.tail)
            numbered = list(enumerate(tail, start=total - len(tail) + 1))
            _print(numbered, as_json=args.json)
            return 0
        number = 0
        async for stored in store.iter_entries(key):  # streamed: a long session stays out of memory
            number += 1
            _print([(number, stored.entry)], as_json=args.json)
    return 0


def _print(entries: list[tuple[int, dict[str, Any]]], *, as_json: bool) -> None:
    if as_json:
        for _, entry in entries:
            print(json.dumps(entry, ensure_ascii=False))
    else:
        print_entries(entries)


async def run_count(args: argparse.Namespace) -> int:
    config = store_config(args)
    async with open_existing(config) as store:
        if args.session is None:
            if args.subpath:
                raise CliError("--subpath needs a SESSION")
            total, after = 0, None
            while True:
                page = await store.list_sessions_page(args.project, after=after)
                total += len(page.sessions)
                if page.next_after is None:
                    break
                after = page.next_after
            print(total)
            return 0
        key = {"project_key": args.project, "session_id": args.session}
        if args.subpath:
            key["subpath"] = args.subpath
        print(await store.count_entries(key))
    return 0
