"""What every store of every service family shares: namespace, schema, lifecycle."""

from __future__ import annotations

from typing import Any, TypeVar

import anyio.abc

from ._options import BackendOptions
from ._schema import SchemaComponent, SchemaHost

_Component = TypeVar("_Component", bound=SchemaComponent[Any])


class Store(anyio.abc.AsyncResource):
    """The base of every family's store: one namespace of one engine.

    A family's contract derives from it; a backend's store derives from the contract.
    ``kode migrate``, ``kode doctor`` and the conformance kit reach every family
    through these members alone. Closing a store built by a builder map does
    nothing (the map or its pool owns the backend); a store made by a factory that
    owns its backend (see :meth:`own`) closes it.
    """

    def __init__(self, options: BackendOptions) -> None:
        self._namespace = options.namespace
        self._closer: anyio.abc.AsyncResource | None = None
        self._schema: tuple[SchemaHost[Any], SchemaComponent[Any]] | None = None

    def _use_schema(self, host: SchemaHost[_Component], component: _Component) -> None:
        """Keep this store's schema as ``component`` through ``host`` (usually the backend).

        A backend's store calls it from ``__init__`` and inherits :meth:`migrate`,
        :meth:`schema_version` and :attr:`supported_schema_version`; a store without a
        schema in an engine (the memory stores) overrides the three hooks instead.
        """
        self._schema = (host, component)

    @property
    def namespace(self) -> str:
        """The tenant namespace this store reads and writes."""
        return self._namespace

    async def migrate(self) -> None:
        """Create or upgrade this store's storage now and record its schema version.

        What ``auto_migrate`` does on first use, done on purpose and whatever that
        option says: a deploy pipeline calls it, and the application then runs with
        ``auto_migrate=False``. Idempotent, and safe from several processes at once.
        Raises :class:`~kode_core.SchemaVersionError` if the stored schema is newer
        than this code, :class:`~kode_core.BackendUnavailableError` if the engine
        cannot be reached.
        """
        await self._migrate()

    async def schema_version(self) -> int:
        """The schema version recorded for this namespace in the engine; 0 when none is.

        Reads only and creates nothing, whatever ``auto_migrate`` says, so a health check
        may call it; compare with :attr:`supported_schema_version`. Raises
        :class:`~kode_core.BackendUnavailableError` if the engine cannot be reached.
        """
        return await self._schema_version()

    @property
    def supported_schema_version(self) -> int:
        """The schema version this code reads and writes, the one :meth:`migrate` applies."""
        return self._schema_parts()[1].version

    def own(self, resource: anyio.abc.AsyncResource) -> None:
        """Make :meth:`aclose` close ``resource`` too (the backend pool a factory opened)."""
        self._closer = resource

    async def aclose(self) -> None:
        """Close what this store owns (nothing, for a store built by a builder map)."""
        closer, self._closer = self._closer, None
        if closer is not None:
            await closer.aclose()

    async def _migrate(self) -> None:
        """Bring this namespace's storage to the current schema version (even if
        ``auto_migrate`` is off); a no-op when it is current."""
        host, component = self._schema_parts()
        await host.migrate(self.namespace, component)

    async def _schema_version(self) -> int:
        """The version recorded for this namespace, 0 if none; reads only, creates nothing."""
        host, component = self._schema_parts()
        return await host.recorded_version(self.namespace, component)

    def _schema_parts(self) -> tuple[SchemaHost[Any], SchemaComponent[Any]]:
        if self._schema is None:
            raise NotImplementedError(
                f"{type(self).__name__} names no schema: call self._use_schema(host, component)"
                " in __init__, or override supported_schema_version, _migrate and"
                " _schema_version"
            )
        return self._schema
