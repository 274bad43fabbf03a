import importlib
import types

import pytest

import kode_core
import kode_core.testing
from kode_core.testing import check_exports


@pytest.mark.parametrize("module", [kode_core, kode_core.testing])
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
