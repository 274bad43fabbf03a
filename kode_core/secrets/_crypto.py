"""Envelope encryption of secrets, every primitive from the ``cryptography`` package.

A fresh 256-bit data key (DEK) seals each written value with AES-256-GCM; the DEK is
sealed (wrapped) with AES-256-GCM under the key-encryption key (KEK) of a key version.
A passphrase becomes a KEK through PBKDF2-HMAC-SHA256 (600,000 iterations) with a
random salt per key version that the engine stores; a raw 32-byte key through HKDF
with the same salt. Associated data binds the value to (namespace, secret name) and
the wrapped DEK to (namespace, secret name, key version), so a row copied onto another
name, relabelled with another version or moved to another namespace fails to decrypt.
"""

from __future__ import annotations

import functools
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .._errors import DecryptionError

#: The layout of ciphertexts and wrapped keys this code writes and reads.
FORMAT_VERSION = 1
PBKDF2_ITERATIONS = 600_000
SALT_BYTES = 16
KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16

KeyMaterial = str | bytes


def new_salt() -> bytes:
    """A random salt for a key version that has none stored yet."""
    return os.urandom(SALT_BYTES)


@functools.lru_cache(maxsize=64)  # per-request stores must not pay 600,000 rounds each
def derive_kek(material: KeyMaterial, salt: bytes) -> bytes:
    """The KEK of ``material``: PBKDF2 for a passphrase (str), HKDF for a raw 32-byte key."""
    if isinstance(material, str):
        kdf = PBKDF2HMAC(hashes.SHA256(), KEY_BYTES, salt, PBKDF2_ITERATIONS)
        return kdf.derive(material.encode("utf-8"))
    return HKDF(hashes.SHA256(), KEY_BYTES, salt, b"kode secrets kek").derive(material)


def _aad(purpose: str, namespace: str, name: str, version: int | None = None) -> bytes:
    # JSON keeps the parts unambiguous whatever characters a name holds.
    parts: list[object] = ["kode-secrets", FORMAT_VERSION, purpose, namespace, name]
    if version is not None:
        parts.append(version)
    return json.dumps(parts, ensure_ascii=False).encode("utf-8")


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes | None:
    if len(sealed) < _NONCE_BYTES + _TAG_BYTES:
        return None
    try:
        return AESGCM(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad)
    except InvalidTag:
        return None


def seal_value(namespace: str, name: str, plaintext: bytes) -> tuple[bytes, bytes]:
    """``(ciphertext, data_key)``: ``plaintext`` sealed under a fresh data key."""
    dek = AESGCM.generate_key(bit_length=256)
    return _seal(dek, plaintext, _aad("value", namespace, name)), dek


def wrap_key(kek: bytes, dek: bytes, namespace: str, name: str, version: int) -> bytes:
    """``dek`` sealed under ``kek``, bound to the secret's name and ``version``."""
    return _seal(kek, dek, _aad("dek", namespace, name, version))


def unwrap_key(kek: bytes, wrapped: bytes, namespace: str, name: str, version: int) -> bytes:
    """The data key of a row; raises :class:`~kode_core.DecryptionError` naming the secret
    and ``version`` if the row or the key is not the one that wrapped it."""
    dek = _open(kek, wrapped, _aad("dek", namespace, name, version))
    if dek is None or len(dek) != KEY_BYTES:
        raise decryption_error(name, version, "its data key does not unwrap")
    return dek


def open_value(dek: bytes, ciphertext: bytes, namespace: str, name: str, version: int) -> bytes:
    """The plaintext of a row (``version`` only names the key in the error)."""
    plaintext = _open(dek, ciphertext, _aad("value", namespace, name))
    if plaintext is None:
        raise decryption_error(name, version, "its ciphertext does not decrypt")
    return plaintext


def decryption_error(name: str, version: int, why: str) -> DecryptionError:
    """The error of a secret that cannot be read: names the secret and key version only."""
    return DecryptionError(
        f"secret {name!r} (key version {version}) cannot be decrypted: {why}",
        secret_key=name,
        key_version=version,
    )
