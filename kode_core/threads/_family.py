"""The thread-store family: its registration and its builders."""

from __future__ import annotations

from .._builders import BuilderMap, Defaults
from .._family import Family
from .._registry import Registry
from ._options import ThreadOptions
from ._store import ThreadStore

#: Agent threads, messages, working memory and the console read model (Pikku's storage).
THREADS: Family[ThreadStore] = Family(
    "threads", ThreadStore, ThreadOptions, "agent threads and messages (Pikku)"
)


def thread_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[ThreadStore]:
    """A builder map of thread stores, made like :func:`~kode_core.session_stores`.

    Share a :class:`~kode_core.BackendPool` with :func:`~kode_core.run_stores`, so
    both families of a namespace use one client or pool::

        pool = kode_core.BackendPool({"sqlite": {"path": "kode.db"}})
        threads, runs = kode_core.thread_stores(pool), kode_core.run_stores(pool)
    """
    return BuilderMap(THREADS, defaults, registry=registry)
