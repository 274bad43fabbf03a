"""Builder maps, the harness pattern: server-side defaults per kind, wire descriptors per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import anyio.abc

from ._agent_store_extended import ExtendedAgentStore
from ._backend import Backend
from ._errors import ConfigurationError, UnknownKindError
from ._options import BackendOptions, make_options, merge_wire
from ._registry import Registry, default_registry
from ._session_store import SessionStore

_S = TypeVar("_S")
_DESCRIPTOR_FIELDS = frozenset({"kind", "options"})


class BackendPool(anyio.abc.AsyncResource):
    """Server-side defaults per kind, and the backends opened from them.

    Builder maps of different service families made from one pool share its
    backends, so a session store and an agent store built with the same
    server-only options use one client or pool::

        pool = BackendPool({"pg": {"url": "postgresql://kode@db/kode"}})
        sessions, agents = session_stores(pool), agent_stores(pool)

    Closing the pool closes every backend it opened.
    """

    def __init__(
        self,
        defaults: Mapping[str, Mapping[str, Any] | None],
        *,
        registry: Registry | None = None,
    ) -> None:
        self._registry = registry or default_registry()
        self._defaults: dict[str, BackendOptions] = {}
        self._backends: dict[tuple[str, tuple[Any, ...]], Backend] = {}
        self._closed = False
        for kind, values in defaults.items():
            info = self._registry.get(kind)
            self._defaults[kind] = make_options(kind, info.options, values or {})

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds the defaults configure, sorted."""
        return tuple(sorted(self._defaults))

    @property
    def open_backends(self) -> tuple[Backend, ...]:
        """The backends opened so far: one per distinct server-only configuration."""
        return tuple(self._backends.values())

    def provides(self, kind: str, service: str) -> bool:
        """True if ``kind``'s backend provides the service family ``service``."""
        return service in self._registry.get(kind).services

    def options_for(self, kind: object, wire: Mapping[str, Any]) -> BackendOptions:
        """The defaults of ``kind`` with ``wire`` options merged over them (validated)."""
        if not isinstance(kind, str) or kind not in self._defaults:
            raise UnknownKindError(kind, self._defaults)
        return merge_wire(kind, self._defaults[kind], wire)

    def backend(self, kind: str, options: BackendOptions) -> Backend:
        """The backend serving ``options``; one per distinct server-only configuration."""
        if self._closed:
            raise ConfigurationError("this backend pool is closed")
        share_key = (kind, options.server_config())
        backend = self._backends.get(share_key)
        if backend is None:
            backend = self._registry.get(kind).factory(options)
            self._backends[share_key] = backend
        return backend

    async def aclose(self) -> None:
        """Close every backend this pool opened. Idempotent."""
        self._closed = True
        backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            await backend.aclose()

    def __repr__(self) -> str:
        return f"<BackendPool kinds={list(self.kinds)}>"


Defaults = Mapping[str, Mapping[str, Any] | None] | BackendPool


class BuilderMap(anyio.abc.AsyncResource, Generic[_S]):
    """``kind -> builder`` made from server-side defaults; :meth:`build` serves a descriptor.

    Builds whose server-only options are identical share one backend (one client
    or pool), so a per-request build never opens a connection. Close the map
    (``aclose()`` or ``async with``) to close every backend it opened; a map made
    from a shared :class:`BackendPool` leaves closing to the pool.
    """

    def __init__(
        self,
        service: str,
        defaults: Defaults,
        make: Callable[[Backend, BackendOptions], _S],
        *,
        registry: Registry | None = None,
    ) -> None:
        self._owns_pool = not isinstance(defaults, BackendPool)
        self._pool: BackendPool = (
            defaults
            if isinstance(defaults, BackendPool)
            else BackendPool(defaults, registry=registry)
        )
        self._service = service
        self._make = make
        self._closed = False
        for kind in self._pool.kinds:
            if not self._pool.provides(kind, service):
                raise ConfigurationError(f"kind {kind!r} does not provide {service!r}")

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds a descriptor may ask for, sorted."""
        return self._pool.kinds

    @property
    def pool(self) -> BackendPool:
        """The defaults and backends this map builds from (shareable with other maps)."""
        return self._pool

    @property
    def open_backends(self) -> tuple[Backend, ...]:
        """The backends built so far: one per distinct server-only configuration."""
        return self._pool.open_backends

    def build(self, descriptor: Mapping[str, Any]) -> _S:
        """A ready service for ``{"kind": str, "options": dict | None}``.

        Wire options are merged over the server defaults and validated before any
        I/O. Raises :class:`~kode_core.UnknownKindError` (listing the available
        kinds), :class:`~kode_core.ServerOnlyOptionError`,
        :class:`~kode_core.UnknownOptionError` or :class:`~kode_core.InvalidOptionError`.
        """
        if self._closed:
            raise ConfigurationError("this builder map is closed")
        if not isinstance(descriptor, Mapping):
            raise ConfigurationError(
                f"a descriptor must be a mapping, got {type(descriptor).__name__}"
            )
        extra = set(descriptor) - _DESCRIPTOR_FIELDS
        if extra:
            raise ConfigurationError(
                f"descriptor field {sorted(map(str, extra))[0]!r} is unknown; "
                "a descriptor has 'kind' and 'options'"
            )
        wire = descriptor.get("options") or {}
        if not isinstance(wire, Mapping):
            raise ConfigurationError(
                f"descriptor 'options' must be a mapping or None, got {wire!r}"
            )
        kind = descriptor.get("kind")
        options = self._pool.options_for(kind, wire)
        assert isinstance(kind, str)
        return self._make(self._pool.backend(kind, options), options)

    async def aclose(self) -> None:
        """Close every backend this map opened (not those of a shared pool). Idempotent."""
        self._closed = True
        if self._owns_pool:
            await self._pool.aclose()

    def __repr__(self) -> str:
        return f"<BuilderMap {self._service} kinds={list(self.kinds)}>"


def session_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[SessionStore]:
    """A builder map of session stores.

    ``defaults`` maps each kind the server offers to its server-side options
    (any field, server-only included), or is a :class:`BackendPool` shared with
    other service families. Example::

        stores = session_stores({"sqlite": {"path": "data/kode.db"}})
        store = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})
    """
    return BuilderMap("sessions", defaults, _make_session_store, registry=registry)


def _make_session_store(backend: Backend, options: BackendOptions) -> SessionStore:
    return backend.session_store(options)


def agent_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[ExtendedAgentStore]:
    """A builder map of agent runtime stores, made like :func:`session_stores`.

    Pass the :class:`BackendPool` of a session-store map (``sessions.pool``) to serve
    both families from one client or pool per configuration::

        agents = agent_stores(sessions.pool)
        store = agents.build({"kind": "pg", "options": {"namespace": "tenant_a"}})
    """
    return BuilderMap("agents", defaults, _make_agent_store, registry=registry)


def _make_agent_store(backend: Backend, options: BackendOptions) -> ExtendedAgentStore:
    return backend.agent_store(options)
