"""Tamper checks of the secrets kit: every altered, moved or foreign row fails closed.

Each test rewrites a stored row through the backend's raw-row hook and expects
:class:`~kode_core.DecryptionError` naming the secret and key version from
``get_secret`` and ``get_secrets`` alike: never a value, never None, never a skip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from ..._errors import DecryptionError
from ...secrets import SecretRow, SecretStore
from .._factory import StoreFactory, unique_namespace
from ._raw import RawSecretRows
from .samples import K2, K3, settings

_NONCE = 12
_TAG = 16


def _flip(data: bytes, index: int) -> bytes:
    flipped = bytearray(data)
    flipped[index] ^= 0x01
    return bytes(flipped)


#: name -> how the row is altered. Sealed bytes are ``nonce || ciphertext || tag``.
ALTERATIONS: dict[str, Callable[[SecretRow], SecretRow]] = {
    "ciphertext_body": lambda r: attrs.evolve(r, ciphertext=_flip(r.ciphertext, _NONCE + 1)),
    "ciphertext_nonce": lambda r: attrs.evolve(r, ciphertext=_flip(r.ciphertext, 0)),
    "ciphertext_tag": lambda r: attrs.evolve(r, ciphertext=_flip(r.ciphertext, -1)),
    "wrapped_key_body": lambda r: attrs.evolve(r, wrapped_key=_flip(r.wrapped_key, _NONCE + 3)),
    "wrapped_key_nonce": lambda r: attrs.evolve(r, wrapped_key=_flip(r.wrapped_key, 5)),
    "wrapped_key_tag": lambda r: attrs.evolve(r, wrapped_key=_flip(r.wrapped_key, -2)),
    "truncated_ciphertext": lambda r: attrs.evolve(r, ciphertext=r.ciphertext[:-1]),
    "ciphertext_cut_below_nonce_and_tag": lambda r: attrs.evolve(r, ciphertext=r.ciphertext[:9]),
    "truncated_wrapped_key": lambda r: attrs.evolve(r, wrapped_key=r.wrapped_key[:-1]),
    "empty_wrapped_key": lambda r: attrs.evolve(r, wrapped_key=b""),
    "relabelled_key_version": lambda r: attrs.evolve(r, key_version=2),
    "unknown_format_version": lambda r: attrs.evolve(r, format_version=99),
}


@pytest.mark.anyio
class TamperChecks:
    """Flipped bits, truncations, moved rows, foreign versions and wrong keys."""

    if TYPE_CHECKING:  # fixtures of SecretStoreConformance, which mixes this in

        def needs_processes(self) -> None: ...

    async def _assert_fails_closed(self, store: SecretStore, name: str, version: int) -> None:
        for read in (store.get_secret(name), store.get_secrets(["other", name])):
            with pytest.raises(DecryptionError) as caught:
                await read
            assert caught.value.context == {"secret_key": name, "key_version": version}
            assert name in str(caught.value)
            assert str(version) in str(caught.value)
        assert await store.has_secret(name)  # reported, never hidden or removed

    @pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
    async def test_an_altered_row_fails_closed(
        self,
        open_secrets: Any,
        store_factory: StoreFactory,
        namespace: str,
        raw_secret_rows: RawSecretRows,
        alteration: str,
    ) -> None:
        # Version 2 is configured too, so a relabelled row meets a real key.
        store = open_secrets(**settings(version=1)).build(store_factory.descriptor(namespace))
        both = open_secrets(**settings(K2, 2, {1: store_factory_key()})).build(
            store_factory.descriptor(namespace)
        )
        await store.set_secret("target", "a value")
        await both.set_secret("warm", "makes version 2 known")
        await store.set_secret("other", "untouched")
        row = await raw_secret_rows.read(store, "target")
        assert row is not None
        altered = ALTERATIONS[alteration](row)
        await raw_secret_rows.write(store, altered)
        await self._assert_fails_closed(both, "target", altered.key_version)
        assert (await both.get_secret("other")).reveal() == "untouched"

    async def test_a_row_copied_onto_another_name_fails_closed(
        self, store: SecretStore, raw_secret_rows: RawSecretRows
    ) -> None:
        await store.set_secret("source", "source value")
        await store.set_secret("victim", "victim value")
        row = await raw_secret_rows.read(store, "source")
        assert row is not None
        await raw_secret_rows.write(store, attrs.evolve(row, name="victim"))
        await self._assert_fails_closed(store, "victim", 1)

    async def test_a_row_copied_from_another_namespace_fails_closed(
        self, open_secrets: Any, store_factory: StoreFactory, raw_secret_rows: RawSecretRows
    ) -> None:
        secrets = open_secrets(**settings())
        home = secrets.build(store_factory.descriptor(unique_namespace("s")))
        away = secrets.build(store_factory.descriptor(unique_namespace("s")))
        await home.set_secret("same", "home value")
        await away.set_secret("same", "away value")
        row = await raw_secret_rows.read(home, "same")
        assert row is not None
        await raw_secret_rows.write(away, row)
        await self._assert_fails_closed(away, "same", 1)

    async def test_a_row_from_another_key_version_fails_closed(
        self,
        open_secrets: Any,
        store_factory: StoreFactory,
        namespace: str,
        raw_secret_rows: RawSecretRows,
    ) -> None:
        # A version-3 row whose wrapped key was really made under version 2's key.
        v2 = open_secrets(**settings(K2, 2)).build(store_factory.descriptor(namespace))
        v3 = open_secrets(**settings(K3, 3, {2: K2})).build(store_factory.descriptor(namespace))
        await v2.set_secret("old", "from v2")
        await v3.set_secret("new", "from v3")
        old = await raw_secret_rows.read(v2, "old")
        new = await raw_secret_rows.read(v3, "new")
        assert old is not None
        assert new is not None
        await raw_secret_rows.write(v3, attrs.evolve(new, wrapped_key=old.wrapped_key))
        await self._assert_fails_closed(v3, "new", 3)

    async def test_a_wrong_kek_fails_closed(
        self, open_secrets: Any, store_factory: StoreFactory, namespace: str, store: SecretStore
    ) -> None:
        await store.set_secret("guarded", "value")
        wrong = open_secrets(**settings(K3)).build(store_factory.descriptor(namespace))
        await self._assert_fails_closed(wrong, "guarded", 1)

    async def test_a_version_without_a_configured_key_fails_closed(
        self, open_secrets: Any, store_factory: StoreFactory, namespace: str, store: SecretStore
    ) -> None:
        await store.set_secret("old", "value")
        forgetful = open_secrets(**settings(K2, 2)).build(store_factory.descriptor(namespace))
        await self._assert_fails_closed(forgetful, "old", 1)


def store_factory_key() -> bytes:
    """Version 1's key in :func:`settings` (K1), named for the reader of the test above."""
    from .samples import K1

    return K1
