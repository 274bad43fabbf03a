"""``kode deployments list|prune``: the running instances a deployment store tracks.

``list`` reads only (the store is opened with ``auto_migrate=False``, a namespace never
written lists nothing); ``prune`` deletes the instances whose heartbeat is older than the
TTL. ``--ttl`` sets the heartbeat TTL the command judges by (the store's default else).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .._builders import BackendPool
from ..deployments import DEPLOYMENTS, DeploymentStore
from ._common import (
    CliError,
    HelpFormatter,
    add_store_argument,
    console,
    format_ms,
    missing_store,
    store_config,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deployments = commands.add_parser(
        "deployments",
        help="list or prune the running instances of a deployment store",
        formatter_class=HelpFormatter,
        description="The instances registered in a deployment store (kode_core.heartbeating).\n\n"
        "examples:\n"
        "  kode deployments list --live --store redis://cache:6379/0\n"
        "  kode deployments prune --store postgresql://kode@db/kode",
    )
    subcommands = deployments.add_subparsers(dest="subcommand", required=True, metavar="subcommand")

    listing = subcommands.add_parser(
        "list",
        help="a table of the instances, live or not",
        formatter_class=HelpFormatter,
        description="Every stored instance in id order: live or expired, last heartbeat,\n"
        "endpoint and functions (reads only).\n\n"
        "examples:\n"
        "  kode deployments list\n"
        "  kode deployments list --live --json   # one JSON object per line",
    )
    listing.add_argument("--live", action="store_true", help="only the live instances")
    listing.add_argument("--json", action="store_true", help="print one JSON object per line")
    _add_common(listing)
    listing.set_defaults(run=run_list)

    prune = subcommands.add_parser(
        "prune",
        help="delete the instances whose heartbeat expired",
        formatter_class=HelpFormatter,
        description="Delete every instance whose last heartbeat is older than the TTL\n"
        "(an instance killed without stopping); prints how many went.\n\n"
        "examples:\n"
        "  kode deployments prune\n"
        "  kode deployments prune --ttl 60 --store sqlite:///kode.db",
    )
    _add_common(prune)
    prune.set_defaults(run=run_prune)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ttl",
        type=_seconds,
        metavar="SECONDS",
        help="heartbeat TTL: older heartbeats are expired (default: the store's, 30)",
    )
    add_store_argument(parser)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


@asynccontextmanager
async def _open(args: argparse.Namespace) -> AsyncIterator[DeploymentStore | None]:
    """The deployment store, or None when the namespace never held deployments."""
    config = store_config(args)
    missing = missing_store(config)
    if missing is not None:
        raise CliError(missing)
    overrides: dict[str, Any] = {"auto_migrate": False}
    if args.ttl is not None:
        overrides["heartbeat_ttl"] = args.ttl
    async with BackendPool(config.defaults(**overrides)) as pool:
        store = pool.build(DEPLOYMENTS.name, config.descriptor())
        assert isinstance(store, DeploymentStore)
        yield store if await store.schema_version() else None


async def run_list(args: argparse.Namespace) -> int:
    async with _open(args) as store:
        if store is None:
            rows, live = [], set()
        else:
            live = {d.deployment_id for d in await store.list_deployments(live_only=True)}
            rows = await store.list_deployments(live_only=args.live)
    if args.json:
        for d in rows:
            item = {
                "deployment_id": d.deployment_id,
                "endpoint": d.endpoint,
                "functions": list(d.functions),
                "heartbeat_ms": d.heartbeat_ms,
                "live": d.deployment_id in live,
            }
            print(json.dumps(item, ensure_ascii=False))
        return 0
    if not rows:
        what = "live deployments" if args.live else "deployments"
        print(
            f"kode deployments list: no {what} ({store_config(args).describe()})", file=sys.stderr
        )
        return 0
    from rich.table import Table

    table = Table(title="deployments", title_justify="left")
    for column in ("deployment", "state", "last heartbeat", "endpoint", "functions"):
        table.add_column(column, no_wrap=column != "functions")
    for d in rows:
        state = "live" if d.deployment_id in live else "expired"
        table.add_row(
            d.deployment_id, state, format_ms(d.heartbeat_ms), d.endpoint, ", ".join(d.functions)
        )
    console().print(table)
    return 0


async def run_prune(args: argparse.Namespace) -> int:
    async with _open(args) as store:
        pruned = 0 if store is None else await store.prune()
    print(f"pruned {pruned} expired deployment{'s' if pruned != 1 else ''}")
    return 0
