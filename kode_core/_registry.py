"""The registry: every backend kind, where it comes from and what it provides.

Load order: built-ins, then plugins named by entry points in group ``kode``,
then a pending-hook check so a misspelt ``kode_*`` hook fails loudly.
``KODE_DISABLE_PLUGIN_AUTOLOAD=1`` turns entry-point loading off;
``KODE_PLUGINS=sqlite,pg`` narrows it to the named entry points.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import attrs
import importlib_metadata
import pluggy

from . import hookspecs
from ._backend import Backend
from ._errors import PluginError, UnknownKindError
from ._options import BackendOptions, check_fields_marked

AUTOLOAD_ENV = "KODE_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "KODE_PLUGINS"
ENTRY_POINT_GROUP = "kode"

#: The service families a backend may provide.
SERVICES = frozenset({"sessions", "agents"})


@attrs.frozen
class BackendInfo:
    """A registered backend kind."""

    kind: str
    options: type[BackendOptions]
    factory: Callable[[Any], Backend] = attrs.field(repr=False)
    services: frozenset[str]
    distribution: str
    version: str


@functools.cache
def _distribution_of(top_level: str) -> tuple[str, str]:
    # Editable installs often leave packages_distributions() without the package,
    # so fall back to the usual "pkg_name" -> "pkg-name" convention.
    candidates = importlib_metadata.packages_distributions().get(top_level, [])
    for name in [*candidates, top_level.replace("_", "-")]:
        try:
            return (name, importlib_metadata.version(name))
        except importlib_metadata.PackageNotFoundError:
            continue
    return ("unknown", "unknown")


class Registry:
    """Every backend kind known to this process. Plugins call :meth:`add_backend`."""

    def __init__(self) -> None:
        self._backends: dict[str, BackendInfo] = {}

    def add_backend(
        self,
        kind: str,
        *,
        options: type[BackendOptions],
        factory: Callable[[Any], Backend],
        services: Iterable[str],
    ) -> None:
        """Register ``kind``: its options class, the factory making a backend from options,
        and the service families it provides (e.g. ``{"sessions"}``)."""
        if kind in self._backends:
            raise PluginError(
                f"kind {kind!r} registered twice (already by {self._backends[kind].distribution})"
            )
        unknown = set(services) - SERVICES
        if unknown:
            raise PluginError(f"kind {kind!r} declares unknown services {sorted(unknown)}")
        try:
            check_fields_marked(options)
        except TypeError as exc:
            raise PluginError(f"kind {kind!r}: {exc}") from None
        dist, version = _distribution_of(factory.__module__.partition(".")[0])
        self._backends[kind] = BackendInfo(
            kind, options, factory, frozenset(services), dist, version
        )

    def get(self, kind: object) -> BackendInfo:
        """The backend registered as ``kind``; :class:`UnknownKindError` lists the others."""
        if not isinstance(kind, str) or kind not in self._backends:
            raise UnknownKindError(kind, self._backends)
        return self._backends[kind]

    @property
    def kinds(self) -> tuple[str, ...]:
        """Registered kinds, sorted."""
        return tuple(sorted(self._backends))

    def backends(self) -> list[BackendInfo]:
        """Every registered backend, sorted by kind."""
        return [self._backends[kind] for kind in self.kinds]

    def __repr__(self) -> str:
        return f"<Registry kinds={list(self.kinds)}>"


def load_registry(
    plugins: Iterable[ModuleType | object] = (), *, autoload: bool | None = None
) -> Registry:
    """Load a registry: built-ins, then ``plugins`` given here, then entry points.

    ``autoload`` defaults to on unless ``KODE_DISABLE_PLUGIN_AUTOLOAD`` is set;
    tests pass their plugin modules explicitly and keep autoload off.
    """
    from . import _memory

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(_memory, name="kode-core:memory")
    for plugin in plugins:
        manager.register(plugin)
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    if autoload:
        _load_entry_points(manager)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    registry = Registry()
    manager.hook.kode_register_backends(registry=registry)
    return registry


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    names = [n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",") if n.strip()]
    try:
        if names:
            for name in names:
                if not manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name):
                    raise PluginError(f"{PLUGINS_ENV} names {name!r}, no such kode entry point")
        else:
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(f"a kode plugin failed to load: {exc!r}") from exc


@functools.cache
def default_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    return load_registry()
