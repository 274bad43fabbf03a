import pytest

from kode_core import (
    ConfigurationError,
    InvalidOptionError,
    ServerOnlyOptionError,
    UnknownKindError,
    UnknownOptionError,
    load_registry,
    session_stores,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def registry():  # type: ignore[no-untyped-def]
    return load_registry(autoload=False)


def test_unknown_kind_names_the_available_kinds(registry) -> None:  # type: ignore[no-untyped-def]
    stores = session_stores({"memory": {}}, registry=registry)
    with pytest.raises(UnknownKindError, match="available kinds: 'memory'"):
        stores.build({"kind": "nope"})
    with pytest.raises(UnknownKindError):
        stores.build({"kind": None})


def test_defaults_for_an_unregistered_kind_are_refused(registry) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownKindError, match="'mongo'"):
        session_stores({"mongo": {}}, registry=registry)


def test_invalid_defaults_fail_when_the_map_is_made(registry) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidOptionError, match="max_entry_bytes") as caught:
        session_stores({"memory": {"max_entry_bytes": -1}}, registry=registry)
    assert caught.value.field == "max_entry_bytes"
    assert caught.value.kind == "memory"


SERVER_ONLY = ["max_entry_bytes", "connect_timeout", "auto_migrate", "summary_fold"]


@pytest.mark.parametrize("field", SERVER_ONLY)
def test_server_only_options_are_refused_from_the_wire(registry, field: str) -> None:  # type: ignore[no-untyped-def]
    stores = session_stores({"memory": {}}, registry=registry)
    with pytest.raises(ServerOnlyOptionError, match=field) as caught:
        stores.build({"kind": "memory", "options": {field: 1}})
    assert caught.value.field == field


def test_unknown_wire_option_names_the_field(registry) -> None:  # type: ignore[no-untyped-def]
    stores = session_stores({"memory": {}}, registry=registry)
    with pytest.raises(UnknownOptionError, match="'colour'") as caught:
        stores.build({"kind": "memory", "options": {"colour": "red"}})
    assert caught.value.field == "colour"


@pytest.mark.parametrize("namespace", ["", "Upper", "9lives", "a-b", "a" * 41, 7, "spaces here"])
def test_an_invalid_namespace_names_field_and_reason(registry, namespace: object) -> None:  # type: ignore[no-untyped-def]
    stores = session_stores({"memory": {}}, registry=registry)
    with pytest.raises(InvalidOptionError, match="namespace") as caught:
        stores.build({"kind": "memory", "options": {"namespace": namespace}})
    assert caught.value.field == "namespace"
    assert "must match" in caught.value.reason


@pytest.mark.parametrize(
    "descriptor",
    [["memory"], {"kind": "memory", "extra": 1}, {"kind": "memory", "options": ["x"]}],
)
def test_a_malformed_descriptor_is_refused(registry, descriptor: object) -> None:  # type: ignore[no-untyped-def]
    stores = session_stores({"memory": {}}, registry=registry)
    with pytest.raises(ConfigurationError):
        stores.build(descriptor)  # type: ignore[arg-type]


async def test_builds_with_the_same_server_config_share_one_backend(registry) -> None:  # type: ignore[no-untyped-def]
    async with session_stores({"memory": {}}, registry=registry) as stores:
        built = [
            stores.build({"kind": "memory", "options": {"namespace": f"tenant_{i}"}})
            for i in range(1000)
        ]
        assert len(stores.open_backends) == 1
        await built[0].append({"project_key": "p", "session_id": "s"}, [{"type": "t"}])
        assert await built[1].load({"project_key": "p", "session_id": "s"}) is None
        assert await built[0].load({"project_key": "p", "session_id": "s"}) == [{"type": "t"}]
        assert stores.kinds == ("memory",)


async def test_options_none_means_the_server_defaults(registry) -> None:  # type: ignore[no-untyped-def]
    async with session_stores({"memory": {"namespace": "srv"}}, registry=registry) as stores:
        assert stores.build({"kind": "memory", "options": None}).namespace == "srv"
        assert stores.build({"kind": "memory"}).namespace == "srv"


async def test_a_closed_map_refuses_builds(registry) -> None:  # type: ignore[no-untyped-def]
    stores = session_stores({"memory": {}}, registry=registry)
    stores.build({"kind": "memory"})
    await stores.aclose()
    await stores.aclose()
    assert stores.open_backends == ()
    with pytest.raises(ConfigurationError, match="closed"):
        stores.build({"kind": "memory"})
