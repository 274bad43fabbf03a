"""Builder maps, the harness pattern: server-side defaults per kind, wire descriptors per call.

One generic :class:`BuilderMap` serves every service family; a family's function
(``kode_core.session_stores``, ``kode_core.agent_stores``...) is one line over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import anyio.abc
import attrs

from ._backend import Backend
from ._descriptor import parse_descriptor
from ._errors import ConfigurationError, UnknownKindError
from ._family import Family
from ._options import (
    BackendOptions,
    FamilyOptions,
    make_options,
    merge_wire,
    split_values,
)
from ._registry import Registry, default_registry
from ._store import Store

_S = TypeVar("_S", bound=Store)


@attrs.frozen
class _KindDefaults:
    engine: BackendOptions
    #: family name -> that family's settings, for every family the kind provides.
    families: Mapping[str, FamilyOptions]


class BackendPool(anyio.abc.AsyncResource):
    """Server-side defaults per kind, and the backends opened from them.

    Builder maps of different service families made from one pool share its
    backends, so a session store and an agent store built with the same
    server-only options use one client or pool::

        pool = BackendPool({"pg": {"url": "postgresql://kode@db/kode"}})
        sessions, agents = session_stores(pool), agent_stores(pool)

    A kind's defaults hold its engine's options and the settings of the families it
    provides (``summary_fold``, ``max_entry_bytes``...); only the engine's server-only
    options decide which builds share a backend. Closing the pool closes every
    backend it opened.
    """

    def __init__(
        self,
        defaults: Mapping[str, Mapping[str, Any] | None],
        *,
        registry: Registry | None = None,
    ) -> None:
        self._registry = registry or default_registry()
        self._defaults: dict[str, _KindDefaults] = {}
        self._backends: dict[tuple[str, tuple[Any, ...]], Backend] = {}
        self._closed = False
        if not isinstance(defaults, Mapping):
            raise ConfigurationError(
                f"defaults must map each kind to its options, got {type(defaults).__name__}"
            )
        for name, values in defaults.items():
            kind = self._registry.resolve_kind(name)
            if values is not None and not isinstance(values, Mapping):
                raise ConfigurationError(
                    f"the defaults of kind {kind!r} must be a mapping, got {values!r}"
                )
            self._defaults[kind] = self._kind_defaults(kind, values or {})

    def _kind_defaults(self, kind: str, values: Mapping[str, Any]) -> _KindDefaults:
        info = self._registry.get(kind)
        families = [self._registry.family(name) for name in sorted(info.services)]
        classes = [info.options, *(family.options for family in families)]
        engine_values, *family_values = split_values(kind, classes, values)
        return _KindDefaults(
            make_options(kind, info.options, engine_values),
            {
                family.name: make_options(kind, family.options, own)
                for family, own in zip(families, family_values, strict=True)
            },
        )

    @property
    def registry(self) -> Registry:
        """The registry this pool resolves kinds and families with."""
        return self._registry

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
        return self._registry.store_factory(kind, service) is not None

    def families(self, kind: str) -> tuple[str, ...]:
        """The service families ``kind`` provides, sorted."""
        return tuple(sorted(self._registry.get(kind).services))

    def options_for(
        self, kind: object, wire: Mapping[str, Any], family: str | None = None
    ) -> tuple[BackendOptions, FamilyOptions]:
        """The defaults of ``kind`` (and ``family``) with ``wire`` options merged over them.

        Validated before any I/O: :class:`~kode_core.ServerOnlyOptionError`,
        :class:`~kode_core.UnknownOptionError`, :class:`~kode_core.InvalidOptionError`.
        """
        if not isinstance(kind, str) or kind not in self._defaults:
            raise UnknownKindError(kind, self._defaults)
        defaults = self._defaults[kind]
        settings = defaults.families.get(family) if family else None
        if settings is None:
            settings = FamilyOptions()
        engine_wire, family_wire = split_values(kind, [type(defaults.engine), type(settings)], wire)
        return (
            merge_wire(kind, defaults.engine, engine_wire),
            merge_wire(kind, settings, family_wire),
        )

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

    def build(self, family: str, descriptor: object) -> Store:
        """A ready ``family`` store for a wire descriptor ``{"kind": ..., "options": ...}``."""
        kind, wire = parse_descriptor(descriptor, self._registry, source="descriptor")
        if kind not in self._defaults:
            raise UnknownKindError(kind, self._defaults)
        factory = self._registry.store_factory(kind, family)
        if factory is None:
            raise ConfigurationError(f"kind {kind!r} does not provide {family!r}")
        options, settings = self.options_for(kind, wire, family)
        return factory(self.backend(kind, options), options, settings)

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
    """``kind -> builder`` of one service family, made from server-side defaults.

    :meth:`build` serves a wire descriptor. Builds whose engine server-only options
    are identical share one backend (one client or pool), so a per-request build
    never opens a connection. Close the map (``aclose()`` or ``async with``) to close
    every backend it opened; a map made from a shared :class:`BackendPool` leaves
    closing to the pool.
    """

    def __init__(
        self,
        family: Family[_S] | str,
        defaults: Defaults,
        *,
        registry: Registry | None = None,
    ) -> None:
        self._owns_pool = not isinstance(defaults, BackendPool)
        self._pool: BackendPool = (
            defaults
            if isinstance(defaults, BackendPool)
            else BackendPool(defaults, registry=registry)
        )
        name = family if isinstance(family, str) else family.name
        self._family: Family[_S] = self._pool.registry.family(name)
        self._closed = False
        for kind in self._pool.kinds:
            if not self._pool.provides(kind, name):
                raise ConfigurationError(f"kind {kind!r} does not provide {name!r}")

    @property
    def family(self) -> Family[_S]:
        """The service family this map builds."""
        return self._family

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
        """A ready store for ``{"kind": str, "options": dict | None}``.

        Wire options are merged over the server defaults and validated before any
        I/O. Raises :class:`~kode_core.UnknownKindError` (listing the available
        kinds), :class:`~kode_core.ServerOnlyOptionError`,
        :class:`~kode_core.UnknownOptionError`, :class:`~kode_core.InvalidOptionError`,
        or :class:`~kode_core.StoreSpecError` for a malformed descriptor.
        """
        if self._closed:
            raise ConfigurationError("this builder map is closed")
        store = self._pool.build(self._family.name, descriptor)
        if not isinstance(store, self._family.store):
            raise ConfigurationError(
                f"the {self._family.name!r} factory returned {type(store).__name__}, "
                f"not a {self._family.store.__name__}"
            )
        built: _S = store
        return built

    async def aclose(self) -> None:
        """Close every backend this map opened (not those of a shared pool). Idempotent."""
        self._closed = True
        if self._owns_pool:
            await self._pool.aclose()

    def __repr__(self) -> str:
        return f"<BuilderMap {self._family.name} kinds={list(self.kinds)}>"


def stores(
    family: Family[_S] | str, defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[_S]:
    """A builder map of ``family``'s stores: the one function behind every family's.

    ``defaults`` maps each kind the server offers to its server-side options (any
    field, server-only included), or is a :class:`BackendPool` shared with other
    families.
    """
    return BuilderMap(family, defaults, registry=registry)
