"""``kode demo``: a conversation written, resumed by a second process, then read back.

No network and no API key: the conversation is scripted (:mod:`._demo_script`). The
second process is this Python running :mod:`._demo_resume`, which opens the same store,
loads the session and appends a turn, as an agent resuming a session elsewhere would.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
import uuid
from typing import Any

import anyio
import attrs

from .._descriptor import StoreConfig, embedded_default, parse_store
from ..sessions import SessionStore, sdk_summary_fold
from . import _demo_script
from ._common import (
    CliError,
    HelpFormatter,
    add_store_argument,
    console,
    format_ms,
    open_store,
    session_title,
    store_spec,
)
from ._sessions import print_entries, print_session_table, session_rows

PROJECT = "kode-demo"
#: Entries of the tail printed at the end.
TAIL = 6
_RESUME_TIMEOUT = 120


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="write an agent conversation, resume it in a second process, read it back",
        formatter_class=HelpFormatter,
        description="A scripted agent conversation (user and assistant turns, tool calls\n"
        "and results, a subagent transcript, a title) written through a builder map,\n"
        "resumed by a second process that appends a turn, then listed, summarised and\n"
        "tailed. Needs no network and no API key. Writes to the project 'kode-demo'.\n\n"
        "examples:\n"
        "  kode demo                          # SQLite at ./.kode/kode.db\n"
        "  kode demo --store sqlite:////tmp/demo.db\n"
        "  kode demo -s 'postgresql://postgres@localhost:5432/postgres#demo'\n\n"
        "Without --store the demo uses the embedded SQLite ./.kode/kode.db, whatever\n"
        "the environment names.",
    )
    add_store_argument(demo, positional=True)
    demo.set_defaults(run=run_demo)


def fold_overrides() -> dict[str, Any]:
    # The SDK's fold when it is installed (as a harness would have), else the demo's own.
    return {} if sdk_summary_fold() is not None else {"summary_fold": _demo_script.demo_fold}


def _descriptor(config: StoreConfig) -> str:
    """The JSON descriptor the second process opens the same store with."""
    options = dict(config.defaults()[config.kind])
    return json.dumps({"kind": config.kind, "options": options})


async def run_demo(args: argparse.Namespace) -> int:
    spec = store_spec(args)
    config = parse_store(spec) if spec else embedded_default()
    if args.namespace is not None:
        config = attrs.evolve(config, namespace=args.namespace)
    if config.kind == "memory":
        raise CliError(
            "a memory store lives in one process and the demo resumes in a second one; "
            "name a store both can reach, e.g. sqlite:///demo.db"
        )
    out = console()
    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    session_id = f"session-{stamp}-{uuid.uuid4().hex[:6]}"
    key = {"project_key": PROJECT, "session_id": session_id}
    sub_key = {**key, "subpath": _demo_script.SUBPATH}
    out.print(f"[bold]kode demo[/bold] on {config.describe()}\n")

    main, sub = _demo_script.first_part(session_id)
    async with open_store(config, **fold_overrides()) as (_, store):
        await store.append(key, main[:4])  # the turn up to the subagent's call
        await store.append(sub_key, sub)
        await store.append(key, main[4:])
        out.print(f"1. This process (pid {os.getpid()}) wrote session [bold]{session_id}[/bold]")
        out.print(
            f"   {len(main)} entries in the main transcript, {len(sub)} under {sub_key['subpath']}"
        )

    out.print("\n2. A second process resumes the session and appends a turn")
    command = [sys.executable, "-m", "kode_core._cli._demo_resume"]
    with anyio.fail_after(_RESUME_TIMEOUT):
        resumed = await anyio.run_process(
            [*command, _descriptor(config), PROJECT, session_id], check=False
        )
    for line in resumed.stdout.decode().splitlines():
        out.print(f"   {line}", markup=False)
    if resumed.returncode != 0:
        reason = (resumed.stderr.decode().strip().splitlines() or ["no output"])[-1]
        raise CliError(f"the resuming process failed: {reason}")

    async with open_store(config, **fold_overrides()) as (_, store):
        await _print_result(store, key)
    out.print(f"\ndone in {time.monotonic() - started:.1f} s. Look again with:")
    command = ["kode", "sessions", "show", PROJECT, session_id]
    if spec:
        command += ["--store", spec]
    if args.namespace is not None:
        command += ["--namespace", args.namespace]
    out.print(f"  {shlex.join(command)}", markup=False)
    return 0


async def _print_result(store: SessionStore, key: dict[str, str]) -> None:
    out = console()
    out.print("\n3. What the store holds now, read back by this process\n")
    rows, _ = await session_rows(store, PROJECT, limit=10_000)
    print_session_table(rows, PROJECT)
    summaries = {s["session_id"]: s for s in await store.list_session_summaries(PROJECT)}
    data = summaries[key["session_id"]]["data"]
    out.print(f"\n[bold]summary[/bold] of {key['session_id']}")
    for label, value in (
        ("title", session_title(data)),
        ("first prompt", data.get("first_prompt")),
        ("last prompt", data.get("last_prompt")),
        ("created", format_ms(data["created_at"]) if "created_at" in data else None),
    ):
        if value:
            out.print(f"  {label:<13} {value}", markup=False)
    subkeys = await store.list_subkeys(key)
    out.print(f"\n[bold]subkeys[/bold]  {', '.join(subkeys)}")
    total = await store.count_entries(key)
    tail = await store.load_tail(key, TAIL)
    out.print(f"\n[bold]tail[/bold]: the last {len(tail)} of {total} entries")
    print_entries(list(enumerate(tail, start=total - len(tail) + 1)))
