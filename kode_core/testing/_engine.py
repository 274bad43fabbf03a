"""The engine-wide checks, run once per family a kind provides, from one fixture.

What every backend must do whatever the family: record and apply schema versions,
refuse server-only options from the wire, share one backend across builds and
families, refuse work once closed. A plugin runs them with a few lines::

    class TestEngine(EngineConformance):
        @pytest.fixture
        def store_factory(self, pg_url: str) -> StoreFactory:
            return StoreFactory("pg", {"url": pg_url}, plugins=("kode_pg._plugin",))
"""

from __future__ import annotations

from typing import Any

import anyio
import attrs
import pytest

from .._builders import BackendPool
from .._errors import ConfigurationError, KodeError, ServerOnlyOptionError
from .._options import EXAMPLE, WIRE_SAFE, make_options
from ._factory import StoreFactory, unique_namespace
from ._suite_base import ConformanceSuite


def _pool(factory: StoreFactory, **overrides: Any) -> BackendPool:
    return BackendPool(
        {factory.kind: {**factory.defaults, **overrides}}, registry=factory.registry()
    )


def _server_only_fields(cls: type) -> dict[str, Any]:
    """Each server-only field of an options class with its default value."""
    return {
        field.name: field.default
        for field in attrs.fields(cls)
        if not field.metadata[WIRE_SAFE] and field.default is not attrs.NOTHING
    }


def _another_value(cls: type, name: str, value: object) -> object:
    """A valid value of the field other than its default: its declared example, else a
    guess (the flipped bool, the next number, a callable)."""
    example = attrs.fields_dict(cls)[name].metadata.get(EXAMPLE, attrs.NOTHING)
    if example is not attrs.NOTHING:
        return example
    if isinstance(value, bool):
        return not value
    return value + 1 if isinstance(value, (int, float)) else (lambda *a: None)


class EngineConformance(ConformanceSuite):
    """Engine-wide checks, looped over every family the kind under test provides."""

    pytestmark = pytest.mark.anyio

    async def test_every_family_reports_zero_then_its_version_after_migrate(
        self, store_factory: StoreFactory
    ) -> None:
        namespace = unique_namespace()
        async with _pool(store_factory, auto_migrate=False) as pool:
            families = pool.families(store_factory.kind)
            assert families, f"kind {store_factory.kind!r} provides no family"
            for family in families:
                store = pool.build(family, store_factory.descriptor(namespace))
                supported = store.supported_schema_version
                assert supported >= 1
                if self.versioned_storage:
                    assert await store.schema_version() == 0, f"{family}: a fresh namespace"
                await store.migrate()
                await store.migrate()  # idempotent
                assert await store.schema_version() == supported, family
        if self.versioned_storage:
            async with _pool(store_factory, auto_migrate=False) as pool:
                for family in pool.families(store_factory.kind):
                    store = pool.build(family, store_factory.descriptor(namespace))
                    assert await store.schema_version() == store.supported_schema_version

    async def test_a_server_only_option_from_the_wire_is_refused_for_every_family(
        self, store_factory: StoreFactory
    ) -> None:
        async with _pool(store_factory) as pool:
            registry = pool.registry
            info = registry.get(store_factory.kind)
            for family in pool.families(store_factory.kind):
                fields = _server_only_fields(info.options)
                fields |= _server_only_fields(registry.family(family).options)
                assert fields, "an engine has at least one server-only option"
                for field, value in fields.items():
                    descriptor = {"kind": store_factory.kind, "options": {field: value}}
                    with pytest.raises(ServerOnlyOptionError) as caught:
                        pool.build(family, descriptor)
                    assert (caught.value.field, caught.value.kind) == (field, store_factory.kind)
            assert pool.open_backends == ()

    async def test_a_thousand_builds_of_every_family_share_one_backend(
        self, store_factory: StoreFactory
    ) -> None:
        async with _pool(store_factory) as pool:
            for family in pool.families(store_factory.kind):
                built = [
                    pool.build(family, store_factory.descriptor(f"n{i:04d}_share"))
                    for i in range(1000)
                ]
                assert len({store.namespace for store in built}) == 1000
            assert len(pool.open_backends) == 1

    def test_family_settings_do_not_decide_which_builds_share_a_backend(
        self, store_factory: StoreFactory
    ) -> None:
        registry = store_factory.registry()
        info = registry.get(store_factory.kind)
        engine = make_options(store_factory.kind, info.options, {})
        for family in sorted(info.services):
            family_options = registry.family(family).options
            for field, value in _server_only_fields(family_options).items():
                other = _another_value(family_options, field, value)
                pool = _pool(store_factory, **{field: other})
                options, settings = pool.options_for(store_factory.kind, {}, family)
                assert getattr(settings, field) == other
                plain, _ = _pool(store_factory).options_for(store_factory.kind, {}, family)
                assert options.server_config() == plain.server_config()
                assert len(engine.server_config()) == len(options.server_config())

    async def test_a_closed_pool_refuses_builds_and_a_closed_backend_refuses_work(
        self, store_factory: StoreFactory
    ) -> None:
        pool = _pool(store_factory)
        stores = [
            pool.build(family, store_factory.descriptor(unique_namespace()))
            for family in pool.families(store_factory.kind)
        ]
        for store in stores:
            await store.migrate()
        await pool.aclose()
        await pool.aclose()  # idempotent
        with pytest.raises(ConfigurationError, match="closed"):
            pool.build(pool.families(store_factory.kind)[0], store_factory.descriptor("x"))
        if not self.versioned_storage:
            return  # an in-process engine has nothing to refuse once its dicts are cleared
        for store in stores:
            with anyio.fail_after(10), pytest.raises(KodeError):
                await store.schema_version()
