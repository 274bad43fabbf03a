"""What every ``kode`` command shares: naming the store, opening it, printing."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs

from .._builders import BackendPool, BuilderMap
from .._descriptor import StoreConfig, parse_store
from .._environment import store_config_from_env
from .._errors import KodeError
from .._store import Store
from ..sessions import SESSIONS, SessionOptions, SessionStore, session_stores

if TYPE_CHECKING:
    from rich.console import Console

STORE_HELP = (
    "the store: a URL (sqlite:///path.db, postgresql://..., mongodb://..., redis://..., "
    'memory://, each with an optional #namespace) or a JSON descriptor {"kind": ..., '
    '"options": {...}}; default: the one KODE_STORE_TYPE and its variables name, else '
    "SQLite at ./.kode/kode.db"
)


class CliError(KodeError):
    """A command cannot go on; the message is the one line the operator sees."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples of each command's description as they are written."""


def add_store_argument(parser: argparse.ArgumentParser, *, positional: bool = False) -> None:
    """``--store/-s STORE`` and ``--namespace/-n``; ``positional`` also accepts the
    positional STORE of kode 0.1 (deprecated)."""
    parser.add_argument("--store", "-s", metavar="STORE", help=STORE_HELP)
    parser.add_argument("--namespace", "-n", help="use this namespace instead of the store's")
    if positional:
        parser.add_argument(
            "old_store",
            nargs="?",
            metavar="STORE",
            help="deprecated, use --store STORE (a positional STORE is accepted until 0.3)",
        )


def store_spec(args: argparse.Namespace) -> str | None:
    """The STORE the command line names, by ``--store`` or the deprecated positional."""
    old = getattr(args, "old_store", None)
    if old is not None and args.store is not None:
        raise CliError("name the store once, with --store (a positional STORE is deprecated)")
    spec: str | None = args.store if args.store is not None else old
    return spec


def store_config(args: argparse.Namespace) -> StoreConfig:
    """The store of a command's ``--store`` and ``--namespace``, else the environment's."""
    return resolve(store_spec(args), args.namespace)


def resolve(spec: str | None, namespace: str | None = None) -> StoreConfig:
    """The store named on the command line, else by the environment; ``namespace`` wins."""
    config = parse_store(spec) if spec else store_config_from_env()
    if namespace is not None:
        config = attrs.evolve(config, namespace=namespace)  # checked when the map is made
    return config


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters and ``…``: an id quoted in a message."""
    return text if len(text) <= limit else text[:limit] + "…"


def quoted(text: str, limit: int = 80) -> str:
    """``text`` quoted as ``repr`` does, cut short when it is long."""
    return repr(shorten(text, limit))


def missing_store(config: StoreConfig) -> str | None:
    """Why ``config`` names no store, for an engine that keeps one in a file (a ``path``
    option): ``no kode store at /abs/kode.db (no such file)``; None if the file is there."""
    path = config.options.get("path")
    if path is None or os.path.exists(path):
        return None
    where = os.path.abspath(path)
    folder = os.path.dirname(where)
    why = "no such file" if os.path.isdir(folder) else f"no such directory {folder}"
    return f"no kode store at {where} ({why})"


async def never_migrated(config: StoreConfig, stores: Mapping[str, Store]) -> str | None:
    """Why the namespace holds nothing when no family ever recorded a schema version
    there (a namespace never written, or a typo); None when one did."""
    namespace = next(iter(stores.values())).namespace
    for store in stores.values():
        if await store.schema_version() != 0:
            return None
    where = config.describe().rsplit(", namespace ", 1)[0]
    return f"namespace {namespace!r} has no kode data (never migrated) in {where}"


@asynccontextmanager
async def open_existing(config: StoreConfig) -> AsyncIterator[SessionStore]:
    """The session store of ``config`` for reading: creates nothing, and a store that is
    not there (no file, a namespace never migrated) is a :class:`CliError` saying so."""
    missing = missing_store(config)
    if missing is not None:
        raise CliError(missing)
    async with open_families(config, auto_migrate=False) as (_, stores):
        empty = await never_migrated(config, stores)
        if empty is not None:
            raise CliError(empty)
        store = stores[SESSIONS.name]  # open_families built it already
        assert isinstance(store, SessionStore)
        yield store


def session_settings(pool: BackendPool, config: StoreConfig) -> SessionOptions:
    """The session settings (``max_entry_bytes``...) the stores of ``config`` apply."""
    _, settings = pool.options_for(config.kind, {}, SESSIONS.name)
    assert isinstance(settings, SessionOptions)
    return settings


@asynccontextmanager
async def open_store(
    config: StoreConfig, **overrides: Any
) -> AsyncIterator[tuple[BuilderMap[SessionStore], SessionStore]]:
    """The builder map of ``config`` (with ``overrides``) and the store it builds."""
    async with session_stores(config.defaults(**overrides)) as stores:
        yield stores, stores.build(config.descriptor())


@asynccontextmanager
async def open_families(
    config: StoreConfig, **overrides: Any
) -> AsyncIterator[tuple[BackendPool, dict[str, Store]]]:
    """The pool of ``config`` (with ``overrides``) and a store of every family its kind
    provides, by family name: what ``kode migrate`` and ``kode doctor`` loop over."""
    async with BackendPool(config.defaults(**overrides)) as pool:
        descriptor = config.descriptor()
        yield (
            pool,
            {family: pool.build(family, descriptor) for family in pool.families(config.kind)},
        )


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr); styles only on a terminal."""
    try:
        from rich.console import Console
    except ImportError:
        raise CliError("this command prints with rich: pip install 'kode-core[cli]'") from None
    stream = sys.stderr if stderr else sys.stdout
    # Off a terminal (a pipe, a file, CI) rich assumes 80 columns; transcripts read better wider.
    width = None if is_terminal(stream) else 120
    return Console(stderr=stderr, highlight=False, width=width)


def format_ms(epoch_ms: object) -> str:
    """An epoch-milliseconds time as local ISO text to the second; other values as text."""
    if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, (int, float)):
        return str(epoch_ms)
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000).astimezone()
    return moment.isoformat(sep=" ", timespec="seconds")


def entry_text(entry: Mapping[str, Any], width: int = 0) -> tuple[str, str]:
    """``(label, text)`` of a transcript entry as a person reads it; ``width`` truncates."""
    kind = str(entry.get("type", "?"))
    message = entry.get("message")
    parts: list[str] = []
    if isinstance(message, Mapping):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [_block_text(block) for block in content if isinstance(block, Mapping)]
    elif isinstance(message, str):
        parts.append(message)
    for field in ("customTitle", "aiTitle", "summary"):
        if isinstance(entry.get(field), str):
            parts.append(f"{field}: {entry[field]}")
    if not parts:
        rest = {k: v for k, v in entry.items() if k not in ("type", "uuid", "parentUuid")}
        parts.append(json.dumps(rest, ensure_ascii=False))
    text = " | ".join(part.replace("\n", " ").strip() for part in parts if part)
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return kind, text


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_use":
        arguments = json.dumps(block.get("input", {}), ensure_ascii=False)
        return f"[tool_use {block.get('name', '?')}] {arguments}"
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            content = " ".join(_block_text(b) for b in content if isinstance(b, Mapping))
        return f"[tool_result] {content}"
    if kind == "thinking":
        return f"[thinking] {block.get('thinking', '')}"
    return json.dumps(dict(block), ensure_ascii=False)


def session_title(data: Mapping[str, Any]) -> str:
    """The title a summary's ``data`` offers, best first (the SDK's fold fields)."""
    for field in ("custom_title", "ai_title", "summary_hint", "first_prompt"):
        value = data.get(field)
        if isinstance(value, str) and value:
            return value
    return ""


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default stderr) is a terminal: progress bars only there."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())
