"""The session-store family: its registration and its builders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from .._builders import BuilderMap, Defaults
from .._environment import store_config_from_env
from .._family import Family
from .._registry import Registry
from ._options import SessionOptions
from ._store import SessionStore

#: Session transcripts: the Claude Agent SDK's ``SessionStore`` contract.
SESSIONS: Family[SessionStore] = Family(
    "sessions", SessionStore, SessionOptions, "session transcripts (Claude Agent SDK)"
)


def session_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[SessionStore]:
    """A builder map of session stores.

    ``defaults`` maps each kind the server offers to its server-side options
    (any field, server-only included), or is a :class:`~kode_core.BackendPool`
    shared with other service families. Example::

        stores = session_stores({"sqlite": {"path": "data/kode.db"}})
        store = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})
    """
    return BuilderMap(SESSIONS, defaults, registry=registry)


@asynccontextmanager
async def store_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    registry: Registry | None = None,
    **overrides: Any,
) -> AsyncIterator[SessionStore]:
    """Open the session store the environment names; close its backend on exit.

    ``overrides`` set more server-side options. Example::

        async with kode_core.store_from_env() as store:
            await store.append({"project_key": "p", "session_id": "s"}, [{"type": "user"}])
    """
    config = store_config_from_env(environ, registry=registry)
    async with config.open(SESSIONS, registry=registry, **overrides) as store:
        yield store
