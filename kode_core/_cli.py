"""``kode``, the operator's command: which backends are installed, is the store healthy, migrate it.

The store is chosen by the environment, as :func:`~kode_core.defaults_from_env` reads it::

    kode backends                       # kinds, distributions, versions, services
    KODE_STORE_TYPE=postgres POSTGRES_HOST=db kode check --namespace tenant_a
    KODE_STORE_TYPE=postgres POSTGRES_HOST=db kode migrate --namespace tenant_a

Exit status: 0 on success, 1 when the store is unhealthy or a kode error stops the
command, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

import anyio

from ._builders import session_stores
from ._environment import defaults_from_env
from ._errors import KodeError, SchemaVersionError
from ._registry import default_registry
from ._version import __version__

#: The key a health check reads; reading creates nothing.
_PROBE = {"project_key": "kode-check", "session_id": "kode-check"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kode`` command with ``argv`` (default: the process's arguments)."""
    args = _parser().parse_args(argv)
    # Drivers log each failed connection attempt as a warning; the command reports the
    # outcome itself, once.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    try:
        if args.command == "backends":
            _print_backends(as_json=args.json)
            return 0
        return anyio.run(_check if args.command == "check" else _migrate, args.namespace)
    except KodeError as exc:
        print(f"kode {args.command}: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kode", description="Operate kode stores; the store is chosen by KODE_STORE_TYPE."
    )
    parser.add_argument("--version", action="version", version=f"kode-core {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    backends = commands.add_parser("backends", help="list the installed backend kinds")
    backends.add_argument("--json", action="store_true", help="print JSON, one object per kind")
    for name, text in (
        ("check", "reach the store and check its schema version, writing nothing"),
        ("migrate", "create or upgrade the store's schema (for deploy pipelines)"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--namespace", help="the namespace (default: KODE_NAMESPACE)")
    return parser


def _print_backends(*, as_json: bool) -> None:
    infos = default_registry().backends()
    if as_json:
        rows = [
            {
                "kind": info.kind,
                "distribution": info.distribution,
                "version": info.version,
                "services": sorted(info.services),
            }
            for info in infos
        ]
        print(json.dumps(rows))
        return
    for info in infos:
        services = ", ".join(sorted(info.services))
        print(f"{info.kind:<8} {info.distribution} {info.version}  ({services})")


def _defaults(namespace: str | None, *, auto_migrate: bool) -> dict[str, dict[str, object]]:
    defaults = defaults_from_env()
    [options] = defaults.values()
    options["auto_migrate"] = auto_migrate
    if namespace is not None:
        options["namespace"] = namespace
    return defaults


async def _check(namespace: str | None) -> int:
    async with session_stores(_defaults(namespace, auto_migrate=False)) as stores:
        [kind] = stores.kinds
        store = stores.build({"kind": kind})
        try:
            await store.count_entries(_PROBE)
        except SchemaVersionError as exc:
            print(f"kode check: {kind} needs migrating: {exc}", file=sys.stderr)
            return 1
        print(f"ok: {kind} is reachable and namespace {store.namespace!r} is migrated")
        return 0


async def _migrate(namespace: str | None) -> int:
    async with session_stores(_defaults(namespace, auto_migrate=True)) as stores:
        [kind] = stores.kinds
        store = stores.build({"kind": kind})
        await store.migrate()
        print(f"ok: {kind} namespace {store.namespace!r} is at the current schema version")
        return 0
