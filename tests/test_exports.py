import importlib
import types

import pytest

import kode_core
import kode_core.testing


@pytest.mark.parametrize("module", [kode_core, kode_core.testing])
def test_all_is_sorted_unique_and_resolvable(module: types.ModuleType) -> None:
    assert list(module.__all__) == sorted(set(module.__all__))
    for name in module.__all__:
        assert hasattr(module, name), name


def test_every_public_name_is_exported_once() -> None:
    public = {
        name
        for name, value in vars(kode_core).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(kode_core.__all__) - {"__version__"}


def test_hookimpl_is_the_kode_marker() -> None:
    hookspecs = importlib.import_module("kode_core.hookspecs")
    assert kode_core.hookimpl is hookspecs.hookimpl
    assert kode_core.hookimpl.project_name == "kode"
