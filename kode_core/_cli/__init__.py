"""``kode``, the operator's command (also ``python -m kode_core``).

Commands: ``backends``, ``doctor``, ``migrate``, ``sessions list|show|count``,
``threads list|show``, ``runs list|show``, ``export``, ``import``, ``copy``, ``demo``
and ``deployments list|prune``;
``kode COMMAND --help`` shows each one's options and an example. A store is named by a
URL or a JSON descriptor, else by the environment
(:func:`~kode_core.store_config_from_env`), else it is the embedded default, SQLite at
``./.kode/kode.db``.

Exit status: 0 on success, 1 when the store is unhealthy or a kode error stops the
command (one line on stderr, no traceback), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import logging
import sys
from collections.abc import Sequence

import anyio

from .._errors import KodeError, UnknownKindError
from .._registry import missing_kind_hint
from .._version import __version__
from . import _demo as _demo
from . import _deployments, _secrets, _sessions, _status, _threads, _transfer, _workflows
from ._common import HelpFormatter, shorten

#: Longest error line printed; the rest is cut (a message may quote a 10,000-character id).
_ERROR_CHARS = 400


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kode`` command with ``argv`` (default: the process's arguments)."""
    args = _parser().parse_args(argv)
    # Drivers log each failed connection attempt (psycopg's pool at its own level, which
    # the root logger's level does not filter); the command reports the outcome once.
    logging.disable(logging.ERROR)
    name = " ".join(part for part in (args.command, getattr(args, "subcommand", None)) if part)
    try:
        if inspect.iscoroutinefunction(args.run):
            result: int = anyio.run(functools.partial(args.run, args))
        else:
            result = args.run(args)
    except UnknownKindError as exc:
        _error(name, f"{exc}; {missing_kind_hint(exc.kind)}")
        return 1
    except KodeError as exc:
        _error(name, str(exc))
        return 1
    except KeyboardInterrupt:
        print(f"kode {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `kode export | head`
        return 0
    finally:
        logging.disable(logging.NOTSET)
    return result


def _error(command: str, message: str) -> None:
    # One line, and a readable one even when the message quotes a huge id or value.
    line = " ".join(message.split())
    print(f"kode {command}: {shorten(line, _ERROR_CHARS)}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kode",
        formatter_class=HelpFormatter,
        description="Operate kode stores: health, schema, sessions, export, copy, demo.\n\n"
        "examples:\n"
        "  kode demo                                       # a conversation, resumed elsewhere\n"
        "  kode doctor --store postgresql://kode@db/kode   # is that store healthy?\n"
        "  kode copy --from sqlite:///kode.db --to 'redis://cache:6379/0#tenant_a'",
        epilog="Every command names its store with --store/-s STORE (the positional STORE of\n"
        "kode 0.1 is deprecated, accepted until 0.3). A STORE is a URL or JSON\n"
        "descriptor; without one, KODE_STORE_TYPE and its variables name it, else it is\n"
        "SQLite at ./.kode/kode.db. Data goes to stdout; progress, notes and errors to\n"
        "stderr.",
    )
    parser.add_argument("--version", action="version", version=f"kode-core {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    _status.add_commands(commands)
    _sessions.add_commands(commands)
    _workflows.add_commands(commands)
    _threads.add_commands(commands)
    _transfer.add_commands(commands)
    _demo.add_commands(commands)
    _secrets.add_commands(commands)
    _deployments.add_commands(commands)
    return parser
