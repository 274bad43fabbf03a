import types

import attrs
import pytest

import kode_core
from kode_core import (
    ConfigurationError,
    PluginError,
    Registry,
    UnknownKindError,
    hookimpl,
    load_registry,
)
from kode_core._registry import autoload_disabled, missing_kind_hint
from kode_core.backend import Backend, BackendOptions
from kode_core.memory import MemoryBackend, MemoryOptions
from kode_core.sessions import MemorySessionStore


def plugin_module(name: str, register: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.kode_register_backends = register  # type: ignore[attr-defined]
    return module


@hookimpl
def _register_extra(registry: Registry) -> None:
    registry.add_backend(
        "extra",
        options=MemoryOptions,
        factory=MemoryBackend,
        stores={"sessions": MemorySessionStore},
    )


def test_builtins_only_without_autoload() -> None:
    registry = load_registry(autoload=False)
    assert registry.kinds == ("memory",)
    info = registry.get("memory")
    assert info.distribution == "kode-core"
    assert info.version == kode_core.__version__
    assert info.services == frozenset(
        {"sessions", "agents", "secrets", "channels", "deployments", "workflows", "threads", "runs"}
    )


def test_a_map_refuses_a_kind_without_its_service() -> None:
    registry = load_registry([plugin_module("extra_plugin", _register_extra)], autoload=False)
    kode_core.session_stores({"extra": {}}, registry=registry)
    with pytest.raises(ConfigurationError, match="'extra' does not provide 'agents'"):
        kode_core.agent_stores({"extra": {}}, registry=registry)


def test_environment_variable_turns_autoload_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KODE_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert load_registry().kinds == ("memory",)


def test_an_explicit_plugin_module_adds_its_kinds() -> None:
    registry = load_registry([plugin_module("extra_plugin", _register_extra)], autoload=False)
    assert registry.kinds == ("extra", "memory")
    assert [info.kind for info in registry.backends()] == ["extra", "memory"]


def test_unknown_kind_lists_the_registered_kinds() -> None:
    with pytest.raises(UnknownKindError, match="'memory'") as caught:
        load_registry(autoload=False).get("nope")
    assert caught.value.available == ("memory",)


def test_a_kind_registered_twice_is_a_plugin_error() -> None:
    @hookimpl
    def register(registry: Registry) -> None:
        registry.add_backend(
            "memory",
            options=MemoryOptions,
            factory=MemoryBackend,
            stores={"sessions": MemorySessionStore},
        )

    with pytest.raises(PluginError, match="registered twice"):
        load_registry([plugin_module("dup", register)], autoload=False)


def test_a_misspelt_hook_fails_loudly() -> None:
    @hookimpl
    def kode_register_backend(registry: Registry) -> None:  # missing the final "s"
        raise AssertionError("never called")

    module = types.ModuleType("typo")
    module.kode_register_backend = kode_register_backend  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="unknown hook"):
        load_registry([module], autoload=False)


def test_options_with_an_unmarked_field_are_refused() -> None:
    @attrs.frozen(kw_only=True)
    class Sloppy(BackendOptions):
        host: str = "localhost"

    @hookimpl
    def register(registry: Registry) -> None:
        registry.add_backend("sloppy", options=Sloppy, factory=MemoryBackend)

    with pytest.raises(PluginError, match="host"):
        load_registry([plugin_module("sloppy", register)], autoload=False)


def test_unknown_services_are_refused() -> None:
    @hookimpl
    def register(registry: Registry) -> None:
        registry.add_backend(
            "x", options=MemoryOptions, factory=MemoryBackend, stores={"tea": MemorySessionStore}
        )

    with pytest.raises(PluginError, match="tea"):
        load_registry([plugin_module("tea", register)], autoload=False)


def test_narrowing_to_a_missing_entry_point_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KODE_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setenv("KODE_PLUGINS", "no-such-plugin")
    with pytest.raises(PluginError, match="no-such-plugin"):
        load_registry()


def test_memory_backend_is_a_backend() -> None:
    assert issubclass(MemoryBackend, Backend)


@pytest.mark.parametrize(
    ("name", "environ", "hint"),
    [
        ("sqlite", {}, "install it: pip install kode-sqlite"),
        ("postgresql", {}, "install it: pip install kode-pg"),
        ("nosuch", {}, "no installed plugin provides it"),
        ("sqlite", {"KODE_DISABLE_PLUGIN_AUTOLOAD": "1"}, "plugin discovery is off"),
        ("sqlite", {"KODE_DISABLE_PLUGIN_AUTOLOAD": "yes"}, "plugin discovery is off"),
        ("sqlite", {"KODE_PLUGINS": "pg"}, "narrowed to KODE_PLUGINS='pg'"),
    ],
)
def test_a_missing_kind_is_explained_by_discovery_or_the_package_to_install(
    name: str, environ: dict[str, str], hint: str
) -> None:
    assert hint in missing_kind_hint(name, environ)


@pytest.mark.parametrize("value", ["", "0", "false", "No", "off"])
def test_false_values_leave_autoload_on(value: str) -> None:
    assert not autoload_disabled({"KODE_DISABLE_PLUGIN_AUTOLOAD": value})
    assert autoload_disabled({"KODE_DISABLE_PLUGIN_AUTOLOAD": "1"})
