"""The run-store family: its registration and its builders."""

from __future__ import annotations

from .._builders import BuilderMap, Defaults
from .._family import Family
from .._registry import Registry
from ._options import RunOptions
from ._store import RunStore

#: Agent runs, pending approvals and scores (Pikku's run state).
RUNS: Family[RunStore] = Family("runs", RunStore, RunOptions, "agent runs and approvals (Pikku)")


def run_stores(defaults: Defaults, *, registry: Registry | None = None) -> BuilderMap[RunStore]:
    """A builder map of run stores, made like :func:`~kode_core.session_stores`.

    Share a :class:`~kode_core.BackendPool` with :func:`~kode_core.thread_stores`, so
    both families of a namespace use one client or pool::

        pool = kode_core.BackendPool({"sqlite": {"path": "kode.db"}})
        threads, runs = kode_core.thread_stores(pool), kode_core.run_stores(pool)
    """
    return BuilderMap(RUNS, defaults, registry=registry)
