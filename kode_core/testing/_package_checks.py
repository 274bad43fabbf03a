"""Checks every kode distribution runs on itself: its exports and its entry point."""

from __future__ import annotations

import types
from collections.abc import Iterable

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
