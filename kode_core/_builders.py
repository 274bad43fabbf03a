"""Builder maps, the harness pattern: server-side defaults per kind, wire descriptors per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import anyio.abc

from ._backend import Backend
from ._errors import ConfigurationError, UnknownKindError
from ._options import BackendOptions, make_options, merge_wire
from ._registry import Registry, default_registry
from ._session_store import SessionStore

_S = TypeVar("_S")
_DESCRIPTOR_FIELDS = frozenset({"kind", "options"})


class BuilderMap(anyio.abc.AsyncResource, Generic[_S]):
    """``kind -> builder`` made from server-side defaults; :meth:`build` serves a descriptor.

    Builds whose server-only options are identical share one backend (one client
    or pool), so a per-request build never opens a connection. Close the map
    (``aclose()`` or ``async with``) to close every backend it opened.
    """

    def __init__(
        self,
        service: str,
        defaults: Mapping[str, Mapping[str, Any] | None],
        make: Callable[[Backend, BackendOptions], _S],
        *,
        registry: Registry | None = None,
    ) -> None:
        registry = registry or default_registry()
        self._service = service
        self._make = make
        self._defaults: dict[str, BackendOptions] = {}
        self._backends: dict[tuple[str, tuple[Any, ...]], Backend] = {}
        self._closed = False
        for kind, values in defaults.items():
            info = registry.get(kind)
            if service not in info.services:
                raise ConfigurationError(f"kind {kind!r} does not provide {service!r}")
            self._defaults[kind] = make_options(kind, info.options, values or {})
        self._registry = registry

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds a descriptor may ask for, sorted."""
        return tuple(sorted(self._defaults))

    @property
    def open_backends(self) -> tuple[Backend, ...]:
        """The backends built so far: one per distinct server-only configuration."""
        return tuple(self._backends.values())

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
        kind = descriptor.get("kind")
        if not isinstance(kind, str) or kind not in self._defaults:
            raise UnknownKindError(kind, self._defaults)
        wire = descriptor.get("options") or {}
        if not isinstance(wire, Mapping):
            raise ConfigurationError(
                f"descriptor 'options' must be a mapping or None, got {wire!r}"
            )
        options = merge_wire(kind, self._defaults[kind], wire)
        return self._make(self._backend(kind, options), options)

    def _backend(self, kind: str, options: BackendOptions) -> Backend:
        share_key = (kind, options.server_config())
        backend = self._backends.get(share_key)
        if backend is None:
            backend = self._registry.get(kind).factory(options)
            self._backends[share_key] = backend
        return backend

    async def aclose(self) -> None:
        """Close every backend this map opened. Idempotent."""
        self._closed = True
        backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            await backend.aclose()

    def __repr__(self) -> str:
        return f"<BuilderMap {self._service} kinds={list(self.kinds)}>"


def session_stores(
    defaults: Mapping[str, Mapping[str, Any] | None], *, registry: Registry | None = None
) -> BuilderMap[SessionStore]:
    """A builder map of session stores.

    ``defaults`` maps each kind the server offers to its server-side options
    (any field, server-only included). Example::

        stores = session_stores({"sqlite": {"path": "data/kode.db"}})
        store = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})
    """
    return BuilderMap("sessions", defaults, _make_session_store, registry=registry)


def _make_session_store(backend: Backend, options: BackendOptions) -> SessionStore:
    return backend.session_store(options)
