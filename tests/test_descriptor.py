"""One parser of ``{kind, options}``: a third-party kind gets aliases, URLs and environment."""

from __future__ import annotations

import types
from typing import Any
from urllib.parse import SplitResult

import pytest

import kode_core
from kode_core import (
    InvalidOptionError,
    StoreConfig,
    StoreSpecError,
    UnknownKindError,
    parse_store,
    store_config_from_env,
)
from kode_core.backend import Registry, hookimpl
from kode_core.memory import MemoryBackend, MemoryOptions
from kode_core.sessions import MemorySessionStore

pytestmark = pytest.mark.anyio


def _toy_url(parts: SplitResult) -> dict[str, Any]:
    if parts.netloc:
        raise ValueError("a toy URL has no host")
    return {}


def _toy_env(environ: Any) -> dict[str, Any]:
    if "KODE_TOY_TIMEOUT" in environ:
        return {"connect_timeout": float(environ["KODE_TOY_TIMEOUT"])}
    return {}


@hookimpl
def kode_register_backends(registry: Registry) -> None:
    registry.add_backend(
        "toy",
        options=MemoryOptions,
        factory=MemoryBackend,
        stores={"sessions": MemorySessionStore},
        aliases=("toybox",),
        url_schemes=("toy",),
        url_options=_toy_url,
        env_options=_toy_env,
        env_location=("KODE_TOY_TIMEOUT",),
    )


@pytest.fixture
def registry() -> Registry:
    plugin = types.ModuleType("toy_plugin")
    plugin.kode_register_backends = kode_register_backends  # type: ignore[attr-defined]
    return kode_core.load_registry([plugin], autoload=False)


def test_a_third_party_kind_is_named_by_url_alias_and_environment(registry: Registry) -> None:
    assert parse_store("toy://#tenant_a", registry=registry) == StoreConfig("toy", {}, "tenant_a")
    assert StoreConfig.from_mapping({"type": "TOYBOX"}, registry).kind == "toy"
    env = {"KODE_STORE_TYPE": "toybox", "KODE_TOY_TIMEOUT": "2.5"}
    config = store_config_from_env(env, registry=registry, require_location=True)
    assert (config.kind, dict(config.options)) == ("toy", {"connect_timeout": 2.5})
    with pytest.raises(kode_core.ConfigurationError, match="needs KODE_TOY_TIMEOUT"):
        store_config_from_env({"KODE_STORE_TYPE": "toy"}, registry=registry, require_location=True)


def test_a_url_problem_of_a_third_party_kind_is_a_store_spec_error(registry: Registry) -> None:
    with pytest.raises(StoreSpecError, match="a toy URL has no host"):
        parse_store("toy://somewhere", registry=registry)


async def test_builder_maps_accept_the_alias_of_a_third_party_kind(registry: Registry) -> None:
    async with kode_core.session_stores({"toybox": {}}, registry=registry) as stores:
        store = stores.build({"kind": "TOYBOX", "options": {"namespace": "t"}})
        assert isinstance(store, MemorySessionStore)
        assert stores.kinds == ("toy",)


@pytest.mark.parametrize(
    ("descriptor", "error", "text"),
    [
        ("memory", StoreSpecError, "must be a mapping, got str"),
        ({"kind": "memory", "extra": 1}, StoreSpecError, "field 'extra' is unknown"),
        ({"options": {}}, StoreSpecError, 'has no "kind" string'),
        ({"kind": "memory", "options": [1]}, StoreSpecError, "'options' must be a mapping"),
        ({"kind": "nope"}, UnknownKindError, "available kinds: 'memory', 'toy'"),
        ({"kind": "memory", "options": {"namespace": "A B"}}, InvalidOptionError, "namespace"),
    ],
)
def test_every_entry_point_refuses_a_bad_descriptor_with_the_same_error(
    registry: Registry, descriptor: Any, error: type[Exception], text: str
) -> None:
    stores = kode_core.session_stores({"memory": {}, "toy": {}}, registry=registry)
    with pytest.raises(error, match=text):
        stores.build(descriptor)
    with pytest.raises(error, match=text):
        StoreConfig.from_mapping(descriptor, registry)
