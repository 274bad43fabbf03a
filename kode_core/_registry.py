"""The registry: every service family, every backend kind, and which kind serves which family.

Load order: built-ins, then plugins named by entry points in group ``kode``, then
a pending-hook check so a misspelt ``kode_*`` hook fails loudly. In each, families
are registered first (``kode_register_families``), then backends and their stores
(``kode_register_backends``). ``KODE_DISABLE_PLUGIN_AUTOLOAD=1`` turns entry-point
loading off; ``KODE_PLUGINS=sqlite,pg`` narrows it to the named entry points.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any
from urllib.parse import SplitResult

import attrs
import importlib_metadata
import pluggy

from . import hookspecs
from ._backend import Backend
from ._errors import PluginError, UnknownKindError
from ._family import Family, StoreFactory
from ._options import BackendOptions, check_fields_marked
from ._store import Store

AUTOLOAD_ENV = "KODE_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "KODE_PLUGINS"
ENTRY_POINT_GROUP = "kode"
#: Values of ``KODE_DISABLE_PLUGIN_AUTOLOAD`` that leave autoload on (any other turns it off).
_FALSE_VALUES = frozenset({"", "0", "false", "no", "off"})
#: The core's own plugins, named (not imported) so this module imports no family.
BUILTINS = (
    "kode_core.sessions._plugin",
    "kode_core.agents._plugin",
    "kode_core.memory._plugin",
    "kode_core.secrets._plugin",
    "kode_core.channels._plugin",
    "kode_core.deployments._plugin",
    "kode_core.workflows._plugin",
    "kode_core.threads._plugin",
    "kode_core.runs._plugin",
)

#: ``url_options(parts) -> server-side options`` of a store URL; raises ``ValueError(problem)``.
UrlOptions = Callable[[SplitResult], dict[str, Any]]
#: ``env_options(environ) -> server-side options`` read from environment variables;
#: raises ``ValueError(problem naming the variable)``.
EnvOptions = Callable[[Mapping[str, str]], dict[str, Any]]


def env_reader(variables: Mapping[str, str]) -> EnvOptions:
    """An ``env_options`` that reads each variable as it is into its option:
    ``env_reader({"KODE_REDIS_URL": "url"})``."""

    def read(environ: Mapping[str, str]) -> dict[str, Any]:
        return {option: environ[name] for name, option in variables.items() if name in environ}

    return read


@attrs.frozen
class BackendInfo:
    """A registered backend kind: how to make it, what it serves, how operators name it."""

    kind: str
    options: type[BackendOptions]
    factory: Callable[[Any], Backend] = attrs.field(repr=False)
    services: frozenset[str]
    distribution: str
    version: str
    #: Other names of the kind (``KODE_STORE_TYPE``, descriptors): ``("postgres",)``.
    aliases: tuple[str, ...] = ()
    #: URL schemes that name the kind, and how such a URL becomes options.
    url_schemes: tuple[str, ...] = ()
    url_options: UrlOptions | None = attrs.field(default=None, repr=False)
    #: How environment variables become options, and the variables of which one
    #: must be set to locate a server (``("KODE_PG_URL", "POSTGRES_HOST")``).
    env_options: EnvOptions | None = attrs.field(default=None, repr=False)
    env_location: tuple[str, ...] = ()


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
    """Every family and backend kind known to this process.

    Plugins call :meth:`add_family`, :meth:`add_backend` and :meth:`add_store`.
    A store may be registered before its kind (plugins load in any order); one
    whose kind never arrives is dropped, one whose family is unknown is a
    :class:`~kode_core.PluginError` when the registry is loaded.
    """

    def __init__(self) -> None:
        self._families: dict[str, Family[Any]] = {}
        self._backends: dict[str, BackendInfo] = {}
        self._stores: dict[tuple[str, str], StoreFactory] = {}

    # -- registration -----------------------------------------------------------------

    def add_family(self, family: Family[Any]) -> None:
        """Register a service family. A name registered twice is a PluginError."""
        if family.name in self._families:
            raise PluginError(f"service family {family.name!r} registered twice")
        if not (isinstance(family.store, type) and issubclass(family.store, Store)):
            raise PluginError(f"family {family.name!r}: its store must derive from Store")
        try:
            check_fields_marked(family.options)
        except TypeError as exc:
            raise PluginError(f"family {family.name!r}: {exc}") from None
        self._families[family.name] = family

    def add_backend(
        self,
        kind: str,
        *,
        options: type[BackendOptions],
        factory: Callable[[Any], Backend],
        stores: Mapping[str, StoreFactory] | None = None,
        aliases: Iterable[str] = (),
        url_schemes: Iterable[str] = (),
        url_options: UrlOptions | None = None,
        env_options: EnvOptions | None = None,
        env_location: Iterable[str] = (),
    ) -> None:
        """Register ``kind``: its options class, the factory making a backend from options,
        a store factory per family it provides (more may come from :meth:`add_store`),
        and how operators name it (aliases, URL schemes, environment variables)."""
        if kind in self._backends:
            raise PluginError(
                f"kind {kind!r} registered twice (already by {self._backends[kind].distribution})"
            )
        try:
            check_fields_marked(options)
        except TypeError as exc:
            raise PluginError(f"kind {kind!r}: {exc}") from None
        if bool(url_schemes) != (url_options is not None):
            raise PluginError(f"kind {kind!r}: url_schemes and url_options come together")
        dist, version = _distribution_of(factory.__module__.partition(".")[0])
        self._backends[kind] = BackendInfo(
            kind,
            options,
            factory,
            frozenset(),
            dist,
            version,
            aliases=tuple(a.lower() for a in aliases),
            url_schemes=tuple(s.lower() for s in url_schemes),
            url_options=url_options,
            env_options=env_options,
            env_location=tuple(env_location),
        )
        for family, store_factory in (stores or {}).items():
            self.add_store(kind, family, store_factory)

    def add_store(self, kind: str, family: str | Family[Any], factory: StoreFactory) -> None:
        """Register how ``kind`` builds ``family``'s store: ``factory(backend, options,
        settings)``, usually the store class itself."""
        name = family if isinstance(family, str) else family.name
        if (kind, name) in self._stores:
            raise PluginError(f"kind {kind!r} registered family {name!r} twice")
        self._stores[(kind, name)] = factory

    def check(self) -> None:
        """Refuse stores of unknown families and store classes outside their contract."""
        for (kind, name), factory in self._stores.items():
            family = self._families.get(name)
            if family is None:
                raise PluginError(
                    f"kind {kind!r} registers a store of unknown family {name!r}; "
                    f"families: {', '.join(sorted(self._families)) or 'none'}"
                )
            if isinstance(factory, type) and not issubclass(factory, family.store):
                raise PluginError(
                    f"kind {kind!r}: {factory.__name__} does not derive from "
                    f"{family.store.__name__}, the {name!r} contract"
                )

    # -- lookup -----------------------------------------------------------------------

    def get(self, kind: object) -> BackendInfo:
        """The backend registered as ``kind``; :class:`UnknownKindError` lists the others."""
        if not isinstance(kind, str) or kind not in self._backends:
            raise UnknownKindError(kind, self._backends)
        info = self._backends[kind]
        return attrs.evolve(info, services=frozenset(self._services(kind)))

    def family(self, name: str) -> Family[Any]:
        """The family registered as ``name``; PluginError lists the others."""
        try:
            return self._families[name]
        except KeyError:
            known = ", ".join(sorted(self._families)) or "none"
            raise PluginError(f"unknown service family {name!r}; families: {known}") from None

    def store_factory(self, kind: str, family: str) -> StoreFactory | None:
        """How ``kind`` builds ``family``'s store, or None if it does not provide it."""
        return self._stores.get((kind, family))

    def resolve_kind(self, name: object) -> str:
        """The kind ``name`` names, by kind or alias, case-insensitively; else UnknownKindError."""
        if isinstance(name, str):
            if name in self._backends:
                return name
            wanted = name.strip().lower()
            for info in self._backends.values():
                if wanted == info.kind or wanted in info.aliases:
                    return info.kind
        raise UnknownKindError(name, self.names())

    def kind_for_scheme(self, scheme: str) -> BackendInfo | None:
        """The backend whose store URLs use ``scheme``, if any."""
        for info in self._backends.values():
            if scheme.lower() in info.url_schemes:
                return self.get(info.kind)
        return None

    def names(self) -> tuple[str, ...]:
        """Every kind and alias, sorted: what ``KODE_STORE_TYPE`` may say."""
        return tuple(sorted({n for i in self._backends.values() for n in (i.kind, *i.aliases)}))

    @property
    def kinds(self) -> tuple[str, ...]:
        """Registered kinds, sorted."""
        return tuple(sorted(self._backends))

    @property
    def families(self) -> tuple[str, ...]:
        """Registered service families, sorted."""
        return tuple(sorted(self._families))

    def backends(self) -> list[BackendInfo]:
        """Every registered backend, sorted by kind."""
        return [self.get(kind) for kind in self.kinds]

    def _services(self, kind: str) -> list[str]:
        return [f for (k, f) in self._stores if k == kind and f in self._families]

    def __repr__(self) -> str:
        return f"<Registry kinds={list(self.kinds)} families={list(self.families)}>"


def autoload_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``KODE_DISABLE_PLUGIN_AUTOLOAD`` is set to anything but a false value
    (empty, ``0``, ``false``, ``no``, ``off``)."""
    env = os.environ if environ is None else environ
    return env.get(AUTOLOAD_ENV, "").strip().lower() not in _FALSE_VALUES


def load_registry(
    plugins: Iterable[ModuleType | object] = (), *, autoload: bool | None = None
) -> Registry:
    """Load a registry: built-ins, then ``plugins`` given here, then entry points.

    ``autoload`` defaults to on unless ``KODE_DISABLE_PLUGIN_AUTOLOAD`` is set;
    tests pass their plugin modules explicitly and keep autoload off.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in BUILTINS:
        manager.register(importlib.import_module(name), name=f"kode-core:{name}")
    for plugin in plugins:
        if manager.is_registered(plugin):
            continue
        manager.register(plugin)
    if autoload is None:
        autoload = not autoload_disabled()
    if autoload:
        _load_entry_points(manager)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    registry = Registry()
    manager.hook.kode_register_families(registry=registry)
    manager.hook.kode_register_backends(registry=registry)
    registry.check()
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


#: The distributions of kode's own kinds, by every name operators use for them.
FIRST_PARTY = {
    "sqlite": "kode-sqlite",
    "pg": "kode-pg",
    "postgres": "kode-pg",
    "postgresql": "kode-pg",
    "mongo": "kode-mongo",
    "mongodb": "kode-mongo",
    "redis": "kode-redis",
    "rediss": "kode-redis",
}


def missing_kind_hint(name: object, environ: Mapping[str, str] | None = None) -> str:
    """Why kind (or URL scheme) ``name`` may be missing, for people: discovery switched
    off or narrowed, or the distribution to install. Empty when there is nothing to say."""
    env = os.environ if environ is None else environ
    if autoload_disabled(env):
        return (
            f"plugin discovery is off ({AUTOLOAD_ENV}={env.get(AUTOLOAD_ENV)!r}); "
            "unset it to load installed plugins"
        )
    narrowed = env.get(PLUGINS_ENV, "").strip()
    if narrowed:
        return f"plugin discovery is narrowed to {PLUGINS_ENV}={narrowed!r}"
    if isinstance(name, str) and name.lower() in FIRST_PARTY:
        return f"install it: pip install {FIRST_PARTY[name.lower()]}"
    return "no installed plugin provides it (`kode backends` lists the kinds)"


@functools.cache
def default_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    return load_registry()
