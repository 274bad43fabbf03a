"""``kode workflows list|show|stalled``: read durable workflow state as an operator.

Reads only: the stores are opened with ``auto_migrate=False``, so reading creates
nothing, and a store that is not there is reported as such. Data goes to stdout;
notes (nothing found) go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from .._descriptor import StoreConfig
from ..workflows import WORKFLOWS, RunStatus, WorkflowRun, WorkflowStore
from ._common import (
    CliError,
    HelpFormatter,
    add_store_argument,
    console,
    missing_store,
    never_migrated,
    open_families,
    quoted,
    store_config,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    workflows = commands.add_parser(
        "workflows",
        help="list, show or find stalled workflow runs",
        formatter_class=HelpFormatter,
        description="Read durable workflow runs (reads only).\n\n"
        "examples:\n"
        "  kode workflows list --workflow checkout --status failed\n"
        "  kode workflows show order-42\n"
        "  kode workflows stalled --older-than 300",
    )
    subcommands = workflows.add_subparsers(dest="subcommand", required=True, metavar="subcommand")

    listing = subcommands.add_parser(
        "list",
        help="a table of runs, newest first",
        formatter_class=HelpFormatter,
        description="Runs newest first, of one workflow and in one status when given.\n\n"
        "examples:\n"
        "  kode workflows list --store sqlite:///kode.db#shop --limit 20\n"
        "  kode workflows list --workflow checkout --status running --json",
    )
    listing.add_argument("--workflow", help="only this workflow's runs")
    listing.add_argument("--status", choices=[s.value for s in RunStatus], help="only runs in it")
    listing.add_argument("--limit", type=_positive, default=50, help="rows (default 50)")
    listing.add_argument("--offset", type=_count, default=0, help="skip this many rows")
    listing.add_argument("--json", action="store_true", help="print the runs as JSON lines")
    add_store_argument(listing)
    listing.set_defaults(run=run_list)

    show = subcommands.add_parser(
        "show",
        help="a run with its steps and every attempt",
        formatter_class=HelpFormatter,
        description="A run, its steps (oldest first) and its attempt history.\n\n"
        "examples:\n"
        "  kode workflows show order-42 --store 'postgresql://kode@db/kode#shop'\n"
        "  kode workflows show order-42 --json",
    )
    show.add_argument("run_id", metavar="RUN")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_argument(show)
    show.set_defaults(run=run_show)

    stalled = subcommands.add_parser(
        "stalled",
        help="running runs not updated for a while",
        formatter_class=HelpFormatter,
        description="Running runs last updated more than --older-than seconds ago, oldest\n"
        "first (what a recovery sweep would pick up).\n\n"
        "examples:\n"
        "  kode workflows stalled --older-than 600 --limit 100",
    )
    stalled.add_argument(
        "--older-than", type=float, default=60.0, metavar="SECONDS", help="default 60"
    )
    stalled.add_argument("--limit", type=_positive, default=100, help="rows (default 100)")
    stalled.add_argument("--json", action="store_true", help="print the runs as JSON lines")
    add_store_argument(stalled)
    stalled.set_defaults(run=run_stalled)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")
    return int(text)


@asynccontextmanager
async def open_workflows(config: StoreConfig) -> AsyncIterator[WorkflowStore]:
    """The workflow store of ``config`` for reading; creates nothing."""
    missing = missing_store(config)
    if missing is not None:
        raise CliError(missing)
    async with open_families(config, auto_migrate=False) as (_, stores):
        store = stores.get(WORKFLOWS.name)
        if not isinstance(store, WorkflowStore):
            raise CliError(f"the {config.kind!r} kind provides no workflow store")
        empty = await never_migrated(config, stores)
        if empty is not None:
            raise CliError(empty)
        yield store


def _print_runs(runs: list[WorkflowRun], title: str, *, as_json: bool) -> None:
    if as_json:
        for run in runs:
            print(json.dumps(run.to_dict(), ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("run", "workflow", "status", "created", "updated"):
        table.add_column(column, no_wrap=column != "workflow")
    for run in runs:
        table.add_row(
            run.id, run.workflow, run.status.value, _when(run.created_at), _when(run.updated_at)
        )
    console().print(table)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone().isoformat(sep=" ", timespec="seconds")


async def run_list(args: argparse.Namespace) -> int:
    config = store_config(args)
    async with open_workflows(config) as store:
        runs = await store.list_runs(
            args.workflow, args.status, limit=args.limit, offset=args.offset
        )
    if not runs and not args.json:
        print(f"kode workflows list: no runs ({config.describe()})", file=sys.stderr)
        return 0
    _print_runs(runs, "workflow runs, newest first", as_json=args.json)
    return 0


async def run_show(args: argparse.Namespace) -> int:
    config = store_config(args)
    async with open_workflows(config) as store:
        try:
            run = await store.get_run(args.run_id)
        except LookupError:
            raise CliError(f"no workflow run {quoted(args.run_id)} ({config.describe()})") from None
        steps = await store.list_steps(run.id)
        history = await store.get_run_history(run.id)
        state = await store.get_run_state(run.id)
    if args.json:
        shown: dict[str, Any] = {
            "run": run.to_dict(),
            "state": state,
            "steps": [step.to_dict() for step in steps],
            "history": [attempt.to_dict() for attempt in history],
        }
        print(json.dumps(shown, ensure_ascii=False))
        return 0
    from rich.table import Table

    out = console()
    out.print(
        f"run {run.id} of {run.workflow}: {run.status.value}, updated {_when(run.updated_at)}"
    )
    table = Table(title="steps, oldest first", title_justify="left")
    for column in ("step", "status", "attempt", "updated", "result / error"):
        table.add_column(column)
    for step in steps:
        outcome = step.error if step.error is not None else step.result
        shown_outcome = "" if outcome is None else json.dumps(outcome, ensure_ascii=False)
        table.add_row(
            step.step_name,
            step.status.value,
            str(step.attempt_count),
            _when(step.updated_at),
            shown_outcome[:80],
        )
    out.print(table)
    out.print(f"{len(history)} attempts in all; state keys: {', '.join(state) or 'none'}")
    return 0


async def run_stalled(args: argparse.Namespace) -> int:
    config = store_config(args)
    before = datetime.now(timezone.utc) - timedelta(seconds=args.older_than)
    async with open_workflows(config) as store:
        runs = await store.find_stalled_runs(before, limit=args.limit)
    if not runs and not args.json:
        print(
            f"kode workflows stalled: no running run idle for {args.older_than:g}s "
            f"({config.describe()})",
            file=sys.stderr,
        )
        return 0
    _print_runs(runs, f"running runs idle for over {args.older_than:g}s", as_json=args.json)
    return 0
