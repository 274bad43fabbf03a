"""How the conformance kit opens the backend under test, here or in another process."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import attrs

from .._builders import BuilderMap
from .._family import Family
from .._registry import Registry, load_registry
from .._store import Store
from ..agents import AGENTS, ExtendedAgentStore
from ..sessions import SESSIONS, SessionStore

_S = TypeVar("_S", bound=Store)


def unique_namespace(prefix: str = "t") -> str:
    """A fresh namespace, so every test starts from empty storage."""
    return f"{prefix}{uuid.uuid4().hex[:16]}"


@attrs.frozen
class StoreFactory:
    """The backend under test: its kind, server-side defaults and plugin modules.

    Picklable, so a writer in another OS process can open the same backend.
    Plugins are registered explicitly (``plugins`` are module names); entry-point
    autoloading stays off in tests.
    """

    kind: str
    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    plugins: tuple[str, ...] = ()

    def registry(self) -> Registry:
        """A registry of the built-ins and :attr:`plugins`, with autoload off."""
        return load_registry(
            [importlib.import_module(name) for name in self.plugins], autoload=False
        )

    def open_family(self, family: Family[_S] | str, **overrides: Any) -> BuilderMap[_S]:
        """A builder map of ``family`` with ``defaults`` (updated by ``overrides``) for
        :attr:`kind`."""
        defaults = {self.kind: {**self.defaults, **overrides}}
        return BuilderMap(family, defaults, registry=self.registry())

    def open(self, **overrides: Any) -> BuilderMap[SessionStore]:
        """A session-store builder map, made like :meth:`open_family`."""
        return self.open_family(SESSIONS, **overrides)

    def open_agents(self, **overrides: Any) -> BuilderMap[ExtendedAgentStore]:
        """An agent-store builder map, made like :meth:`open_family`."""
        return self.open_family(AGENTS, **overrides)

    def descriptor(self, namespace: str) -> dict[str, Any]:
        """The wire descriptor a client would send for ``namespace``."""
        return {"kind": self.kind, "options": {"namespace": namespace}}


def writer_batches(writer: str, rounds: int, shared: int) -> list[list[dict[str, Any]]]:
    """The batches one concurrent writer appends: its own entries and the shared uuids.

    Round ``i`` holds the writer's entry ``i`` and the shared uuids ``j`` with
    ``j % rounds == i``, so every writer also writes every shared uuid.
    """
    batches = []
    for i in range(rounds):
        batch: list[dict[str, Any]] = [
            {"type": "user", "uuid": f"{writer}-{i}", "writer": writer, "seq": i}
        ]
        batch += [
            {"type": "shared", "uuid": f"shared-{j}", "n": j}
            for j in range(shared)
            if j % rounds == i
        ]
        batches.append(batch)
    return batches


async def write_batches(
    store: SessionStore, key: Mapping[str, str], batches: list[list[dict[str, Any]]]
) -> None:
    """Append ``batches`` one call after another, yielding between calls."""
    for batch in batches:
        await store.append(key, batch)
        await anyio.lowlevel.checkpoint()


def process_writer(
    factory: StoreFactory,
    namespace: str,
    key: Mapping[str, str],
    batches: list[list[dict[str, Any]]],
    barrier_dir: str,
    name: str,
) -> None:
    """Run in another OS process: signal ready, wait for go, append ``batches``."""

    async def main() -> None:
        async with factory.open() as stores:
            store = stores.build(factory.descriptor(namespace))
            await store.count_entries(key)  # connect and migrate before the race starts
            Path(barrier_dir, f"ready-{name}").touch()
            deadline = time.monotonic() + 60
            while not Path(barrier_dir, "go").exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("no go signal within 60 s")
                await anyio.sleep(0.005)
            await write_batches(store, key, batches)

    anyio.run(main)
