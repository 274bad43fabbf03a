"""The schema-version policy every engine applies, whatever its storage.

Each family's storage in a namespace records a version. A store reading it decides
with :func:`schema_action`: current, refuse (newer than this code, or older with
migrations off), or migrate. Engines run the migration under their own lock and
decide again under it, so concurrent first users migrate once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, Literal, Protocol, TypeVar

import attrs

from ._errors import SchemaVersionError

_M = TypeVar("_M", covariant=True)
_C = TypeVar("_C", contravariant=True)


@attrs.frozen
class SchemaComponent(Generic[_M]):
    """One service family's storage in an engine: its name and version, its migrations.

    ``migrations[v]`` takes the storage from version ``v - 1`` to ``v``, in whatever
    form the engine runs (statements, a function of the namespace...).
    """

    name: str
    version: int
    migrations: Mapping[int, _M] = attrs.field(factory=dict, repr=False)


def schema_action(
    kind: str,
    found: int,
    component: SchemaComponent[object],
    *,
    auto_migrate: bool,
    where: str,
) -> Literal["current", "migrate"]:
    """What to do with a namespace whose ``component`` storage is at version ``found``.

    ``"current"``: nothing; ``"migrate"``: apply ``found + 1 .. component.version``.
    Raises :class:`~kode_core.SchemaVersionError` (naming ``where``) for a newer
    version, or an older one when ``auto_migrate`` is off.
    """
    supported = component.version
    if found == supported:
        return "current"
    if found > supported or not auto_migrate:
        raise SchemaVersionError(kind, found=found, supported=supported, where=where)
    return "migrate"


class SchemaHost(Protocol[_C]):
    """What keeps a family's schema in an engine: usually the backend itself.

    ``_C`` is the engine's component type (``SchemaComponent[SqliteMigration]``...).
    A store hands its host and component to :meth:`~kode_core.backend.Store._use_schema`
    and inherits ``migrate``, ``schema_version`` and ``supported_schema_version``.
    """

    async def migrate(self, namespace: str, component: _C, /) -> None:
        """Bring ``namespace``'s storage of ``component`` to its version, whatever
        ``auto_migrate`` says; a no-op when it is current."""

    async def recorded_version(self, namespace: str, component: _C, /) -> int:
        """The version of ``component`` recorded for ``namespace``; 0 when none is."""
