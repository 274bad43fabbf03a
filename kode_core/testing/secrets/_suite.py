"""The secret-store conformance suite: subclass it and provide ``store_factory`` and
``raw_secret_rows``.

Example, a backend's whole conformance class::

    import pytest
    from kode_core.testing import SecretStoreConformance, StoreFactory
    from kode_sqlite._secrets.raw import SqliteRawSecretRows

    class TestSqliteSecretStore(SecretStoreConformance):
        @pytest.fixture
        def store_factory(self, tmp_path):
            return StoreFactory("sqlite", {"path": str(tmp_path / "kode.db")}, ("kode_sqlite",))

        @pytest.fixture
        def raw_secret_rows(self):
            return SqliteRawSecretRows()

Capabilities are declared as class attributes, never guessed from the kind.
"""

from __future__ import annotations

import base64
import logging
import pickle
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import attrs
import pytest

from ..._builders import BackendPool
from ..._descriptor import parse_descriptor
from ..._errors import (
    ConfigurationError,
    InvalidRecordError,
    NotFoundError,
    ServerOnlyOptionError,
)
from ..._options import make_options
from ...secrets import SECRETS, AuditAction, SecretOptions, SecretStore, SecretValue
from ...secrets._crypto import derive_kek
from .._factory import StoreFactory, unique_namespace
from .._suite_base import ConformanceSuite
from ._raw import RawSecretRows
from ._rotation_checks import RotationChecks
from ._tamper_checks import TamperChecks
from .samples import K1, K2, PASSPHRASE, VALUES, settings


@attrs.frozen
class SecretStores:
    """Builds secret stores with its own settings on the test's one shared backend.

    Stores of one test share a backend whatever their keys, like instances of an
    application sharing one database (the memory engine keeps data per backend).
    """

    pool: BackendPool
    settings: SecretOptions

    def build(self, descriptor: dict[str, Any]) -> SecretStore:
        """A store for a wire descriptor, refusing server-only wire options as a map does."""
        kind, wire = parse_descriptor(descriptor, self.pool.registry)
        options, _ = self.pool.options_for(kind, wire, SECRETS.name)
        factory = self.pool.registry.store_factory(kind, SECRETS.name)
        assert factory is not None, f"kind {kind!r} provides no secret store"
        store = factory(self.pool.backend(kind, options), options, self.settings)
        assert isinstance(store, SecretStore)
        return store


OpenSecrets = Callable[..., SecretStores]


@pytest.mark.anyio
class SecretStoreConformance(TamperChecks, RotationChecks, ConformanceSuite):
    """The whole secret-store contract: every kode backend runs this class."""

    @pytest.fixture
    def raw_secret_rows(self) -> RawSecretRows:
        """Override: the engine's raw-row hook (see :class:`RawSecretRows`)."""
        raise NotImplementedError("subclasses provide the raw_secret_rows fixture")

    @pytest.fixture
    async def open_secrets(self, store_factory: StoreFactory) -> AsyncIterator[OpenSecrets]:
        """``open_secrets(**settings).build(descriptor)``, on one backend per test."""
        kind = store_factory.kind
        async with BackendPool(
            {kind: store_factory.defaults}, registry=store_factory.registry()
        ) as pool:
            yield lambda **values: SecretStores(pool, make_options(kind, SecretOptions, values))

    @pytest.fixture
    def namespace(self) -> str:
        return unique_namespace("s")

    @pytest.fixture
    def store(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, namespace: str
    ) -> SecretStore:
        return open_secrets(**settings()).build(store_factory.descriptor(namespace))

    # -- values ------------------------------------------------------------------------

    async def test_every_json_value_reads_back_as_set(self, store: SecretStore) -> None:
        for name, value in VALUES.items():
            await store.set_secret(name, value)
        for name, value in VALUES.items():
            assert (await store.get_secret(name)).reveal() == value

    async def test_a_missing_secret_raises_not_found(self, store: SecretStore) -> None:
        with pytest.raises(NotFoundError) as caught:
            await store.get_secret("nowhere")
        assert caught.value.context == {"secret_key": "nowhere"}

    async def test_has_secret_is_true_for_stored_names_and_never_raises(
        self, store: SecretStore
    ) -> None:
        await store.set_secret("here", "x")
        assert await store.has_secret("here")
        assert not await store.has_secret("gone")
        for bad in ("", 7, None, "a\x00b", "x" * 10_000):
            assert not await store.has_secret(bad)  # type: ignore[arg-type]

    async def test_set_secret_replaces_the_value_and_keeps_created_at(
        self, store: SecretStore, raw_secret_rows: RawSecretRows
    ) -> None:
        await store.set_secret("api", "first")
        first = await raw_secret_rows.read(store, "api")
        await store.set_secret("api", {"second": True})
        second = await raw_secret_rows.read(store, "api")
        assert (await store.get_secret("api")).reveal() == {"second": True}
        assert first is not None
        assert second is not None
        assert second.created_at == first.created_at
        assert second.updated_at >= first.updated_at
        assert second.ciphertext != first.ciphertext
        assert second.wrapped_key != first.wrapped_key  # a fresh data key per write

    async def test_delete_secret_removes_it_and_says_whether_it_was_there(
        self, store: SecretStore
    ) -> None:
        await store.set_secret("doomed", "x")
        assert await store.delete_secret("doomed")
        assert not await store.delete_secret("doomed")
        assert not await store.has_secret("doomed")
        with pytest.raises(NotFoundError):
            await store.get_secret("doomed")

    async def test_get_secrets_returns_the_stored_ones_and_leaves_missing_out(
        self, store: SecretStore
    ) -> None:
        await store.set_secret("a", 1)
        await store.set_secret("b", [2])
        found = await store.get_secrets(["a", "missing", "b", "a"])
        assert {k: v.reveal() for k, v in found.items()} == {"a": 1, "b": [2]}
        assert await store.get_secrets([]) == {}

    async def test_awkward_names_are_kept_apart(self, store: SecretStore) -> None:
        names = ["a", "A", "a ", "ns:a", "a/b", "日本", "🚀", "x" * 512, "'; DROP TABLE x; --"]
        for i, name in enumerate(names):
            await store.set_secret(name, i)
        found = await store.get_secrets(names)
        assert {k: v.reveal() for k, v in found.items()} == {n: i for i, n in enumerate(names)}

    async def test_namespaces_do_not_see_each_other(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory
    ) -> None:
        secrets = open_secrets(**settings())
        one = secrets.build(store_factory.descriptor(unique_namespace("s")))
        two = secrets.build(store_factory.descriptor(unique_namespace("s")))
        await one.set_secret("shared-name", "one")
        assert not await two.has_secret("shared-name")
        assert await two.get_secrets(["shared-name"]) == {}

    async def test_a_passphrase_key_reads_back_from_another_instance(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, namespace: str
    ) -> None:
        writer = open_secrets(**settings(PASSPHRASE)).build(store_factory.descriptor(namespace))
        await writer.set_secret("p", "by passphrase")
        reader = open_secrets(**settings(PASSPHRASE)).build(store_factory.descriptor(namespace))
        assert (await reader.get_secret("p")).reveal() == "by passphrase"

    async def test_concurrent_writers_leave_one_whole_value_and_one_audit_entry_each(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, namespace: str
    ) -> None:
        writers = [
            open_secrets(**settings()).build(store_factory.descriptor(namespace)) for _ in range(4)
        ]

        async def write(n: int) -> None:
            store = writers[n % len(writers)]
            await store.set_secret("contested", {"writer": n, "pad": "x" * 100})
            await store.set_secret(f"own-{n}", n)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for n in range(12):
                    group.start_soon(write, n)
        reader = writers[0]
        assert (await reader.get_secret("contested")).reveal()["writer"] in range(12)
        owns = await reader.get_secrets([f"own-{n}" for n in range(12)])
        assert {k: v.reveal() for k, v in owns.items()} == {f"own-{n}": n for n in range(12)}
        assert len(await reader.audit_log("contested", limit=100)) == 12

    # -- input refused before any write ---------------------------------------------------

    @pytest.mark.parametrize(
        ("name", "value", "field"),
        [
            ("", "v", "key"),
            ("x" * 513, "v", "key"),
            ("a\x00b", "v", "key"),
            ("\ud800", "v", "key"),
            (7, "v", "key"),
            ("ok", {1, 2}, "value"),
            ("ok", float("nan"), "value"),
            ("ok", "x" * 70_000, "value"),
            ("ok", "\ud800", "value"),
        ],
    )
    async def test_bad_input_is_refused_naming_the_field_and_stores_nothing(
        self, store: SecretStore, name: Any, value: Any, field: str
    ) -> None:
        with pytest.raises(InvalidRecordError) as caught:
            await store.set_secret(name, value)
        assert caught.value.field == field
        assert not await store.has_secret("ok")
        assert await store.audit_log() == []

    async def test_a_refused_value_is_never_quoted_in_the_error(self, store: SecretStore) -> None:
        with pytest.raises(InvalidRecordError) as caught:
            await store.set_secret("ok", "sk-live-SECRET-" + "x" * 70_000)
        assert "sk-live-SECRET" not in str(caught.value)

    async def test_bad_batches_actors_and_limits_are_refused(self, store: SecretStore) -> None:
        with pytest.raises(InvalidRecordError):
            await store.get_secrets("ab")  # a string is not a list of names
        with pytest.raises(InvalidRecordError) as caught:
            await store.get_secrets(["ok", ""])
        assert caught.value.field == "keys[1]"
        with pytest.raises(InvalidRecordError):
            await store.set_secret("ok", 1, actor="")
        with pytest.raises(InvalidRecordError):
            await store.audit_log(limit=-1)
        assert not await store.has_secret("ok")

    async def test_without_a_key_writes_are_refused(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, namespace: str
    ) -> None:
        store = open_secrets().build(store_factory.descriptor(namespace))
        with pytest.raises(ConfigurationError):
            await store.set_secret("x", 1)
        with pytest.raises(ConfigurationError):
            await store.rotate()
        assert not await store.has_secret("x")

    # -- key material stays on the server ----------------------------------------------------

    @pytest.mark.parametrize(
        "option", ["key", "key_version", "previous_keys", "audit", "audit_reads"]
    )
    async def test_a_wire_option_naming_key_material_or_audit_is_refused(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, option: str
    ) -> None:
        secrets = open_secrets(**settings())
        wire = {"namespace": "x", option: {1: K2} if option == "previous_keys" else K2}
        with pytest.raises(ServerOnlyOptionError) as caught:
            secrets.build({"kind": store_factory.kind, "options": wire})
        assert caught.value.field == option
        assert repr(K2) not in str(caught.value)

    async def test_no_repr_or_message_shows_a_value_or_a_key(
        self,
        store: SecretStore,
        open_secrets: OpenSecrets,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await store.set_secret("api", VALUES["text"])
        value = await store.get_secret("api")
        shown = [repr(value), str(value), f"{value}", f"{value!r}", repr(store)]
        shown.append(repr(open_secrets(**settings(PASSPHRASE, 2, {1: K1})).settings))
        with pytest.raises(TypeError):
            pickle.dumps(value)
        assert value != SecretValue(VALUES["text"])
        for text in [*shown, caplog.text]:
            assert VALUES["text"] not in text
            assert PASSPHRASE not in text
            assert repr(K1) not in text
            assert K1.hex() not in text

    async def test_the_engine_dump_holds_neither_the_value_nor_the_key(
        self,
        open_secrets: OpenSecrets,
        store_factory: StoreFactory,
        namespace: str,
        raw_secret_rows: RawSecretRows,
    ) -> None:
        raw_store = open_secrets(**settings(K1)).build(store_factory.descriptor(namespace))
        word_store = open_secrets(**settings(PASSPHRASE, 2, {1: K1})).build(
            store_factory.descriptor(namespace)
        )
        await raw_store.set_secret("raw", VALUES["text"])
        await word_store.set_secret("word", VALUES["object"])
        dump = await raw_secret_rows.dump(raw_store)
        assert b"raw" in dump
        assert b"word" in dump
        keks = [derive_kek(K1, raw_store._salts[1]), derive_kek(PASSPHRASE, word_store._salts[2])]
        # Engines that store text hold bytes as base64: look for those forms too.
        encoded = [
            form for raw in (*keks, K1) for form in (base64.b64encode(raw), raw.hex().encode())
        ]
        for needle in (
            *keks,
            *encoded,
            VALUES["text"].encode(),
            VALUES["object"]["token"].encode(),
            K1,
            K1.hex().encode(),
            PASSPHRASE.encode(),
        ):
            assert needle not in dump

    async def test_the_raw_row_hook_reads_and_writes_the_stored_row(
        self, store: SecretStore, raw_secret_rows: RawSecretRows
    ) -> None:
        await store.set_secret("a", "first")
        await store.set_secret("b", "second")
        row = await raw_secret_rows.read(store, "a")
        assert row is not None
        assert row.name == "a"
        assert row.key_version == 1
        assert await raw_secret_rows.read(store, "none") is None
        old_b = await raw_secret_rows.read(store, "b")
        await store.set_secret("b", "third")
        assert old_b is not None
        await raw_secret_rows.write(store, old_b)  # an old row of the same name is genuine
        assert (await store.get_secret("b")).reveal() == "second"
        assert await raw_secret_rows.read(store, "b") == old_b

    # -- audit -----------------------------------------------------------------------------

    async def test_audit_records_writes_deletes_and_rotations_newest_first(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, namespace: str
    ) -> None:
        v1 = open_secrets(**settings()).build(store_factory.descriptor(namespace))
        await v1.set_secret("a", 1, actor="alice")
        await v1.get_secret("a")  # reads are not audited unless audit_reads
        await v1.set_secret("b", 2)
        await v1.delete_secret("b", actor="bob")
        await v1.delete_secret("b", actor="bob")  # nothing deleted: nothing recorded
        v2 = open_secrets(**settings(K2, 2, {1: K1})).build(store_factory.descriptor(namespace))
        assert await v2.rotate(actor="ops") == 1
        log = await v2.audit_log()
        assert [(e.secret_key, e.action, e.actor) for e in log] == [
            ("a", AuditAction.ROTATE, "ops"),
            ("b", AuditAction.DELETE, "bob"),
            ("b", AuditAction.SET, None),
            ("a", AuditAction.SET, "alice"),
        ]
        assert [e.id for e in log] == sorted((e.id for e in log), reverse=True)
        assert all(e.performed_at > 0 for e in log)
        assert log[0].as_dict().keys() == {"id", "secret_key", "action", "performed_at", "actor"}
        assert [e.action for e in await v2.audit_log("b")] == [AuditAction.DELETE, AuditAction.SET]
        assert len(await v2.audit_log(limit=2)) == 2

    async def test_reads_are_audited_only_with_audit_reads(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, namespace: str
    ) -> None:
        store = open_secrets(**settings(audit_reads=True)).build(
            store_factory.descriptor(namespace)
        )
        await store.set_secret("a", 1)
        await store.get_secret("a", actor="reader")
        await store.get_secrets(["a", "missing"])
        actions = [(e.action, e.actor) for e in await store.audit_log("a")]
        assert actions == [
            (AuditAction.READ, None),
            (AuditAction.READ, "reader"),
            (AuditAction.SET, None),
        ]
        assert await store.audit_log("missing") == []

    async def test_with_audit_off_nothing_is_recorded(
        self, open_secrets: OpenSecrets, store_factory: StoreFactory, namespace: str
    ) -> None:
        store = open_secrets(**settings(audit=False, audit_reads=True)).build(
            store_factory.descriptor(namespace)
        )
        await store.set_secret("a", 1)
        await store.get_secret("a")
        await store.delete_secret("a")
        assert await store.audit_log() == []
