import importlib
import types

import pytest

import kode_core
import kode_core.agents
import kode_core.backend
import kode_core.channels
import kode_core.deployments
import kode_core.memory
import kode_core.sessions
import kode_core.testing
import kode_core.testing.agents
import kode_core.testing.channels
import kode_core.testing.deployments
import kode_core.testing.sessions
import kode_core.testing.workflows
import kode_core.workflows
from kode_core.testing import check_exports

MODULES = [
    kode_core,
    kode_core.agents,
    kode_core.backend,
    kode_core.channels,
    kode_core.deployments,
    kode_core.memory,
    kode_core.sessions,
    kode_core.testing,
    kode_core.testing.agents,
    kode_core.testing.channels,
    kode_core.testing.deployments,
    kode_core.testing.sessions,
    kode_core.testing.workflows,
    kode_core.workflows,
]


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_every_public_name_is_exported_once_sorted_and_resolvable(
    module: types.ModuleType,
) -> None:
    check_exports(module)


def test_a_public_name_missing_from_all_is_caught() -> None:
    module = types.ModuleType("fake")
    module.__all__ = ["a"]  # type: ignore[attr-defined]
    module.a = 1  # type: ignore[attr-defined]
    module.b = 2  # type: ignore[attr-defined]
    with pytest.raises(AssertionError, match=r"\['b'\]"):
        check_exports(module)


def test_hookimpl_is_the_kode_marker() -> None:
    hookspecs = importlib.import_module("kode_core.hookspecs")
    assert kode_core.hookimpl is hookspecs.hookimpl
    assert kode_core.hookimpl.project_name == "kode"


def test_a_moved_name_still_resolves_from_the_top_level_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"kode_core.Message moved to kode_core.agents"):
        message = kode_core.Message  # type: ignore[attr-defined]
    assert message is kode_core.agents.Message
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        kode_core.Nope  # type: ignore[attr-defined]  # noqa: B018
