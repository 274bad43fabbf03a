"""A service family: a store contract, its own settings, and the name it is registered by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from ._options import FamilyOptions
from ._store import Store

_S = TypeVar("_S", bound=Store)

#: ``factory(backend, options, settings) -> store``: how a kind makes a family's store.
#: A store class whose ``__init__`` takes those three arguments is such a factory.
StoreFactory = Callable[[Any, Any, Any], Store]


@attrs.frozen
class Family(Generic[_S]):
    """A service family (``"sessions"``, ``"agents"``...): what every kind must build for it.

    ``store`` is the contract every backend's store derives from; ``options`` the
    family's own settings (a :class:`~kode_core.backend.FamilyOptions` subclass),
    set in the same defaults and descriptors as a backend's options but never part
    of the pool-sharing key. Register it with ``registry.add_family(family)`` from a
    ``kode_register_families`` hook, then each kind's store with
    ``registry.add_store(kind, family, factory)``.
    """

    name: str
    #: The contract (abstract); typed loosely because mypy refuses an abstract class
    #: where ``type[_S]`` is expected. Annotate the family: ``Family[SessionStore]``.
    store: type[Any]
    options: type[FamilyOptions] = FamilyOptions
    summary: str = ""
