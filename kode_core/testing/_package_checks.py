"""Checks every kode distribution runs on itself: its exports and its entry point."""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import ClassVar

import importlib_metadata

from .._registry import ENTRY_POINT_GROUP, BackendInfo, load_registry


def check_exports(module: types.ModuleType) -> None:
    """``__all__`` is sorted, has no repeats, resolves, and lists every public name.

    Public names are those of the module's namespace without a leading underscore,
    submodules excepted (``__version__`` may be listed too).
    """
    exported = list(module.__all__)
    # The order ruff keeps (RUF022): CONSTANTS, then Classes, then functions, each sorted.
    ordered = sorted(set(exported), key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    assert exported == ordered, f"{module.__name__}.__all__ is unsorted or repeats"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{module.__name__}.__all__ names what it lacks: {missing}"
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    unlisted = sorted(public - set(exported))
    assert unlisted == [], f"{module.__name__} has public names not in __all__: {unlisted}"


def check_plugin(
    distribution: str,
    kind: str,
    *,
    backend: type,
    options: type,
    services: Iterable[str] = ("sessions",),
) -> BackendInfo:
    """The installed ``distribution`` has an entry point ``kind`` that registers ``kind``.

    Loads the module the entry point names (as discovery would), registers it on a
    fresh registry and checks what it registered: the backend class, the options
    class, the services, and the distribution's own name and version.
    """
    found = [
        ep
        for ep in importlib_metadata.distribution(distribution).entry_points
        if ep.group == ENTRY_POINT_GROUP
    ]
    assert [ep.name for ep in found] == [kind], f"{distribution}'s kode entry points: {found}"
    info = load_registry([found[0].load()], autoload=False).get(kind)
    assert info.factory is backend
    assert info.options is options
    assert info.services == frozenset(services)
    assert (info.distribution, info.version) == (
        distribution,
        importlib_metadata.version(distribution),
    )
    return info


class PackageConformance:
    """A plugin distribution as a whole: its exports, its entry point, how its kind is named.

    A plugin's ``test_package.py`` subclasses it and fills in the class attributes::

        class TestPackage(PackageConformance):
            distribution, kind, package = "kode-pg", "pg", kode_pg
            backend, options = kode_pg.PgBackend, kode_pg.PgOptions
            aliases = ("postgres", "postgresql")
            url_schemes = ("postgresql", "postgres")
            env_location = ("KODE_PG_URL", "POSTGRES_HOST")
    """

    distribution: ClassVar[str]
    kind: ClassVar[str]
    package: ClassVar[types.ModuleType]
    backend: ClassVar[type]
    options: ClassVar[type]
    #: The service families the kind provides.
    families: ClassVar[tuple[str, ...]] = (
        "agents",
        "channels",
        "deployments",
        "runs",
        "secrets",
        "sessions",
        "threads",
        "workflows",
    )
    aliases: ClassVar[tuple[str, ...]] = ()
    url_schemes: ClassVar[tuple[str, ...]] = ()
    env_location: ClassVar[tuple[str, ...]] = ()

    def test_the_package_exports_each_public_name_once(self) -> None:
        check_exports(self.package)

    def test_the_entry_point_registers_the_kind_its_families_and_its_names(self) -> None:
        info = check_plugin(
            self.distribution,
            self.kind,
            backend=self.backend,
            options=self.options,
            services=self.families,
        )
        assert (info.aliases, info.url_schemes, info.env_location) == (
            self.aliases,
            self.url_schemes,
            self.env_location,
        )
