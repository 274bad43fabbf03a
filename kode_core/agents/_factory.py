"""``create_store`` and ``create_store_from_env``: an agent store that owns its backend.

For an application that runs one store, as the KODE SDK's factory does. A server
that hands out stores per request uses :func:`~kode_core.agent_stores` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._builders import BackendPool
from .._descriptor import StoreConfig, parse_store
from .._environment import store_config_from_env
from .._errors import ConfigurationError
from .._registry import Registry
from ._family import agent_stores
from ._store_extended import ExtendedAgentStore


def create_store(
    config: StoreConfig | Mapping[str, Any] | str,
    *,
    registry: Registry | None = None,
    **overrides: Any,
) -> ExtendedAgentStore:
    """An agent store for ``config``, owning its backend: ``aclose()`` closes both.

    ``config`` is a :class:`~kode_core.StoreConfig`, a URL or JSON descriptor string
    (see :func:`~kode_core.parse_store`), or ``{"kind": ..., "options": {...}}`` with
    server-side options (``"type"`` and the ``KODE_STORE_TYPE`` names are accepted
    too). ``overrides`` set more server-side options. No I/O happens here::

        async with kode_core.create_store("sqlite:///agents.db") as store:
            await store.save_info("agent-1", info)
    """
    if isinstance(config, str):
        config = parse_store(config)
    elif not isinstance(config, StoreConfig):
        if not isinstance(config, Mapping):
            raise ConfigurationError(
                f"a store config must be a StoreConfig, a string or a mapping, "
                f"got {type(config).__name__}"
            )
        config = StoreConfig.from_mapping(config, registry)
    pool = BackendPool(config.defaults(**overrides), registry=registry)
    store = agent_stores(pool).build(config.descriptor())
    store.own(pool)
    return store


def create_store_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    registry: Registry | None = None,
    **overrides: Any,
) -> ExtendedAgentStore:
    """The agent store the environment names (``KODE_STORE_TYPE`` and friends), owning its backend.

    A server engine must be located: ``KODE_STORE_TYPE=pg`` needs ``KODE_PG_URL`` or
    ``POSTGRES_HOST``; the error names the variables. See
    :func:`~kode_core.store_config_from_env` for every variable.
    """
    config = store_config_from_env(environ, require_location=True, registry=registry)
    return create_store(config, registry=registry, **overrides)
