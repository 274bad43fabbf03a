"""The hooks a kode plugin may implement. Each hook's docstring is its documentation.

A plugin is a module named by an entry point in group ``kode``::

    [project.entry-points.kode]
    sqlite = "kode_sqlite._plugin"

and that module implements hooks with the marker from the core::

    from kode_core.backend import hookimpl

    @hookimpl
    def kode_register_backends(registry):
        registry.add_backend("sqlite", options=SqliteOptions, factory=SqliteBackend,
                             stores={"sessions": SqliteSessionStore})
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ._registry import Registry

PROJECT = "kode"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def kode_register_backends(registry: Registry) -> None:
    """Register the backends this plugin provides.

    Called once per registry load, built-ins first, then plugins found through
    entry points, after every family is registered. Call ``registry.add_backend(...)``
    for each kind (``stores=`` maps each family it provides to its store factory) and
    ``registry.add_store(kind, family, factory)`` to add a family's store to a kind
    registered elsewhere. Return nothing. A kind registered twice is a
    :class:`~kode_core.PluginError`.
    """


@hookspec
def kode_register_families(registry: Registry) -> None:
    """Register the service families this plugin defines.

    Called once per registry load, before :func:`kode_register_backends`, so every
    family is known when backends register their stores. Call
    ``registry.add_family(Family(...))`` for each. Return nothing.
    """
