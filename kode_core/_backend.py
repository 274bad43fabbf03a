"""What a backend is: one engine connection shared by every store built on it."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio
import anyio.abc

_K = TypeVar("_K", bound=Hashable)


class Backend(anyio.abc.AsyncResource):
    """One client or pool for one server-side configuration.

    Constructing a backend does no I/O: it connects on first use, so a builder
    map can be created at import time and builds stay cheap. The stores of every
    family the kind provides are made from it (each family's store factory gets
    the backend) and share its client. A backend knows no family: it offers its
    engine (connections, schema machinery) and the stores use it. Use it as an
    async context manager or call :meth:`aclose`, which is idempotent.
    """

    #: The kind this backend serves, e.g. ``"sqlite"``.
    kind: str

    @property
    @abc.abstractmethod
    def driver_version(self) -> str:
        """The engine driver and its version, for operators: ``"psycopg 3.2.9"``."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the client or pool. Idempotent."""


class OncePerKey(Generic[_K]):
    """Run an async set-up step once per key (a pool, a namespace's schema), under a lock.

    Concurrent callers for the same key wait for the first; a failed step is
    retried by the next caller.
    """

    def __init__(self) -> None:
        self._done: set[_K] = set()
        self._lock = anyio.Lock()

    async def run(self, key: _K, step: Callable[[], Awaitable[None]]) -> None:
        if key in self._done:
            return
        async with self._lock:
            if key not in self._done:
                await step()
                self._done.add(key)

    def forget(self, key: _K | None = None) -> None:
        """Forget one key (or all), so the step runs again, e.g. after a reconnect."""
        if key is None:
            self._done.clear()
        else:
            self._done.discard(key)
