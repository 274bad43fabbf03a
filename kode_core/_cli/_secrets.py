"""``kode secrets rotate``: re-wrap every secret's data key under the current key version.

Key material never comes from the command line (it would sit in shell history and in
the process list): the current key is ``KODE_SECRETS_KEY`` (version
``KODE_SECRETS_KEY_VERSION``, default 1) and each older one ``KODE_SECRETS_KEY_V<n>``;
a value ``base64:...`` is a raw 32-byte key, any other a passphrase.
"""

from __future__ import annotations

import argparse
import json
import os

from ..secrets import SecretStore, secret_options_from_env, secret_stores
from ..secrets._options import KEY_VARIABLE, PREVIOUS_PREFIX, VERSION_VARIABLE
from ..secrets._records import RotationProgress
from ._common import CliError, HelpFormatter, add_store_argument, resolve
from ._progress import ProgressBar

#: Left-behind rows listed in the summary; the rest are counted.
_LISTED = 20


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    secrets = commands.add_parser(
        "secrets",
        help="operate encrypted secrets (rotate their key)",
        formatter_class=HelpFormatter,
        description="Operate a store's encrypted secrets. Keys come from the environment,\n"
        "never from the command line.\n\n"
        "example:\n"
        "  kode secrets rotate sqlite:///kode.db   # with KODE_SECRETS_KEY... set",
    )
    subcommands = secrets.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
    rotate = subcommands.add_parser(
        "rotate",
        help="re-wrap every secret under the current key version",
        formatter_class=HelpFormatter,
        description="Re-wrap the data key of every secret of an older key version under\n"
        f"the current one. The current key is {KEY_VARIABLE} (its version\n"
        f"{VERSION_VARIABLE}, default 1), each older one {PREVIOUS_PREFIX}<n>; a value\n"
        "base64:... is a raw 32-byte key, any other a passphrase. Values are not\n"
        "re-encrypted. Safe to re-run, and to run on several machines at once (each\n"
        "row is re-wrapped once). Rows whose key is missing or that do not decrypt are\n"
        "listed and left as they are; the exit status is then 1.\n\n"
        "example (v1 -> v3):\n"
        '  export KODE_SECRETS_KEY_VERSION=3 KODE_SECRETS_KEY="$(cat /run/keys/v3)"\n'
        '  export KODE_SECRETS_KEY_V1="$(cat /run/keys/v1)" '
        'KODE_SECRETS_KEY_V2="$(cat /run/keys/v2)"\n'
        "  kode secrets rotate 'postgresql://kode@db:5432/kode#tenant_a'",
    )
    rotate.add_argument("target", nargs="?", metavar="STORE", help="the store (or --store)")
    add_store_argument(rotate)
    rotate.add_argument("--actor", default="kode secrets rotate", help="who the audit names")
    rotate.add_argument(
        "--no-audit", action="store_true", help="do not record the rotations in the audit trail"
    )
    rotate.add_argument("--json", action="store_true", help="print the summary as JSON")
    rotate.set_defaults(run=run_rotate)


async def run_rotate(args: argparse.Namespace) -> int:
    if args.target is not None and args.store is not None:
        raise CliError("name the store once: STORE or --store")
    config = resolve(args.target if args.target is not None else args.store, args.namespace)
    keys = secret_options_from_env(os.environ)
    if "key" not in keys:
        raise CliError(
            f"set {KEY_VARIABLE} to the current key (and {PREVIOUS_PREFIX}<n> to each older "
            "one); keys are never taken from the command line"
        )
    audit = not args.no_audit
    async with secret_stores(config.defaults(**keys, audit=audit)) as stores:
        store = stores.build(config.descriptor())
        final = await _rotate(store, args.actor)
    _report(final, store.key_version, as_json=args.json)
    return 1 if final.left_behind else 0


async def _rotate(store: SecretStore, actor: str) -> RotationProgress:
    bar: ProgressBar | None = None
    final = RotationProgress(0, 0, 0)

    def show(progress: RotationProgress) -> None:
        nonlocal bar, final
        if bar is None:
            bar = ProgressBar("rotating", progress.total)
        bar.advance(progress.checked - final.checked)
        bar.note(f"{progress.rotated} re-wrapped")
        final = progress

    try:
        await store.rotate(on_progress=show, actor=actor)
    finally:
        if bar is not None:
            bar.stop()
    return final


def _report(final: RotationProgress, version: int, *, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "key_version": version,
                    "checked": final.checked,
                    "rotated": final.rotated,
                    "unknown_keys": [list(item) for item in final.unknown_keys],
                    "unreadable": [list(item) for item in final.unreadable],
                }
            )
        )
        return
    print(
        f"re-wrapped {final.rotated} of {final.checked} secret(s) of older versions "
        f"under key version {version}"
    )
    for label, rows in (
        ("no key configured", final.unknown_keys),
        ("does not decrypt", final.unreadable),
    ):
        for name, old in rows[:_LISTED]:
            print(f"  left as is ({label}): {name!r} at key version {old}")
        if len(rows) > _LISTED:
            print(f"  ... and {len(rows) - _LISTED} more ({label})")
