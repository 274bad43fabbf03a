"""``kode backends``, ``kode doctor`` and ``kode migrate``: what is installed, is it healthy."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from .._registry import default_registry
from ._common import (
    HelpFormatter,
    add_store_argument,
    console,
    missing_store,
    open_families,
    store_config,
)

#: Round trips timed by ``kode doctor`` after the first answer.
_LATENCY_SAMPLES = 5


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backends = commands.add_parser(
        "backends",
        help="list the installed backend kinds",
        formatter_class=HelpFormatter,
        description="Every kind the registry discovered: distribution, version, services.\n\n"
        "example:\n  kode backends --json",
    )
    backends.add_argument("--json", action="store_true", help="print one JSON array")
    backends.set_defaults(run=run_backends)

    doctor = commands.add_parser(
        "doctor",
        help="check that a store is reachable, fast and migrated; writes nothing",
        formatter_class=HelpFormatter,
        description="Reach the store, time a round trip, read its schema version and name\n"
        "its driver. Exit status 0 only when it is healthy; otherwise one line on\n"
        "stderr says why (no store there, unreachable, needs migrating, newer than\n"
        "this code).\n\n"
        "examples:\n"
        "  kode doctor\n"
        "  kode doctor --store 'postgresql://kode@db:5432/kode#tenant_a'\n"
        '  kode doctor -s \'{"kind": "redis", "options": {"url": "redis://cache:6379/0",'
        ' "connect_timeout": 2}}\'',
    )
    add_store_argument(doctor, positional=True)
    doctor.set_defaults(run=run_doctor)

    migrate = commands.add_parser(
        "migrate",
        help="create or upgrade a store's schema (for deploy pipelines)",
        formatter_class=HelpFormatter,
        description="Apply the pending schema versions of the store's namespace, for\n"
        "deployments whose applications run with auto_migrate=False. Idempotent.\n\n"
        "example:\n  kode migrate --store 'postgresql://kode@db:5432/kode#tenant_a'",
    )
    add_store_argument(migrate, positional=True)
    migrate.set_defaults(run=run_migrate)


def run_backends(args: argparse.Namespace) -> int:
    infos = default_registry().backends()
    if args.json:
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
        return 0
    for info in infos:
        services = ", ".join(sorted(info.services))
        print(f"{info.kind:<8} {info.distribution} {info.version}  ({services})")
    return 0


async def run_doctor(args: argparse.Namespace) -> int:
    config = store_config(args)
    out = console()
    out.print(f"store      {config.describe()}")
    missing = missing_store(config)
    if missing is not None:  # opening it would not reach a store, it would make one
        print(f"kode doctor: unhealthy: {missing}", file=sys.stderr)
        return 1
    # auto_migrate off: a health check must not create the schema it is checking.
    async with open_families(config, auto_migrate=False) as (pool, stores):
        first = next(iter(stores.values()))
        started = time.perf_counter()
        await first.schema_version()
        first_ms = (time.perf_counter() - started) * 1000
        samples = []
        for _ in range(_LATENCY_SAMPLES):
            started = time.perf_counter()
            await first.schema_version()
            samples.append((time.perf_counter() - started) * 1000)
        versions = {
            family: (await store.schema_version(), store.supported_schema_version)
            for family, store in stores.items()
        }
        [backend] = pool.open_backends
        out.print(f"reachable  yes, first answer in {first_ms:.1f} ms (connecting included)")
        out.print(
            f"latency    {statistics.median(samples):.2f} ms per round trip "
            f"(median of {_LATENCY_SAMPLES})"
        )
        for family, (found, supported) in versions.items():
            state = "current" if found == supported else "NOT current"
            out.print(
                f"schema     {family}: version {found}, this code applies {supported}: {state}"
            )
        out.print(f"driver     {backend.driver_version}")
    namespace = first.namespace
    if all(found == 0 for found, _ in versions.values()):
        print(
            f"kode doctor: unhealthy: namespace {namespace!r} has no kode data (never "
            "migrated); if this is the store you meant, run `kode migrate`",
            file=sys.stderr,
        )
        return 1
    for family, (found, supported) in versions.items():
        if found < supported:
            what = "no schema yet" if found == 0 else f"schema version {found}"
            print(
                f"kode doctor: unhealthy: {family}: {what} in namespace {namespace!r}, this "
                f"code applies {supported}; run `kode migrate`",
                file=sys.stderr,
            )
            return 1
        if found > supported:
            print(
                f"kode doctor: unhealthy: {family}: schema version {found} is newer than this "
                f"code's {supported}; upgrade the {config.kind} plugin",
                file=sys.stderr,
            )
            return 1
    out.print("healthy")
    return 0


async def run_migrate(args: argparse.Namespace) -> int:
    config = store_config(args)
    where = config.describe()
    async with open_families(config, auto_migrate=False) as (_, stores):
        for family, store in stores.items():
            before = await store.schema_version()
            await store.migrate()
            after = await store.schema_version()
            if before == after:
                print(f"ok: {where}: {family} already at schema version {after}")
            else:
                print(f"ok: {where}: {family} schema version {before} -> {after}")
    return 0
