"""The secrets family's own settings: key material (server-only, always) and audit."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import attrs

from .._errors import OptionValueError
from .._options import FamilyOptions, check, is_bool, is_positive_int, server_only
from ._crypto import KEY_BYTES, KeyMaterial

#: The environment variables :func:`secret_options_from_env` reads.
KEY_VARIABLE = "KODE_SECRETS_KEY"
VERSION_VARIABLE = "KODE_SECRETS_KEY_VERSION"
PREVIOUS_PREFIX = "KODE_SECRETS_KEY_V"
_RAW_PREFIX = "base64:"


def _key_problem(value: object) -> str | None:
    # Never quote the value: it is key material.
    if isinstance(value, str):
        return None if value else "a passphrase must not be empty"
    if isinstance(value, bytes):
        return None if len(value) == KEY_BYTES else f"a raw key must be {KEY_BYTES} bytes"
    return f"must be a passphrase (str) or a raw {KEY_BYTES}-byte key, not {type(value).__name__}"


def _check_key(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    problem = None if value is None else _key_problem(value)
    if problem:
        raise OptionValueError(attribute.name, problem)


def _check_previous(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Mapping):
        raise OptionValueError(attribute.name, "must map key versions to keys")
    for version, material in value.items():
        if not is_positive_int(version):
            raise OptionValueError(attribute.name, f"versions must be positive ints: {version!r}")
        problem = _key_problem(material)
        if problem:
            raise OptionValueError(attribute.name, f"the key of version {version}: {problem}")


@attrs.frozen(kw_only=True)
class SecretOptions(FamilyOptions):
    """Settings of every secret store, whatever the engine; all server-only.

        ``key`` is the current key-encryption key material: a passphrase (``str``, stretched
        with PBKDF2-HMAC-SHA256) or a raw 32-byte key (``bytes``, through HKDF); its version
        is ``key_version``. ``previous_keys`` maps each older version still stored to its
        key (a newer version may be listed too, so instances not yet upgraded can read rows
    that upgraded ones wrote); :meth:`~kode_core.SecretStore.rotate` re-wraps rows of every
    older version listed. A wire
        descriptor naming any of them is refused (:class:`~kode_core.ServerOnlyOptionError`),
        and reprs show ``'***'``. ``audit`` records writes, deletes and rotations;
        ``audit_reads`` reads too. ``max_value_bytes`` caps a value's JSON.
    """

    key: KeyMaterial | None = server_only(
        default=None, validator=_check_key, secret=True, example=b"example-key-of-32-bytes-long...."
    )
    key_version: int = server_only(
        default=1, validator=check(is_positive_int, "must be a positive int")
    )
    previous_keys: Mapping[int, KeyMaterial] = server_only(
        default=attrs.Factory(dict),
        validator=_check_previous,
        secret=True,
        example={2: "an example passphrase"},
    )
    audit: bool = server_only(default=False, validator=check(is_bool, "must be a bool"))
    audit_reads: bool = server_only(default=False, validator=check(is_bool, "must be a bool"))
    max_value_bytes: int = server_only(
        default=64 * 1024, validator=check(is_positive_int, "must be a positive int")
    )

    def __attrs_post_init__(self) -> None:
        if self.key_version in self.previous_keys:
            raise OptionValueError("previous_keys", "holds key_version itself: set it as key")

    def key_for(self, version: int) -> KeyMaterial | None:
        """The key material of ``version``, or None when it is not configured."""
        if version == self.key_version:
            return self.key
        return self.previous_keys.get(version)


def secret_options_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Secret-store options from ``KODE_SECRETS_KEY``, ``KODE_SECRETS_KEY_VERSION`` and
    ``KODE_SECRETS_KEY_V<n>`` (the previous keys), for server defaults.

    A value starting ``base64:`` is a raw 32-byte key, any other a passphrase. Raises
    :class:`~kode_core.OptionValueError` naming the variable (never its value).
    """
    out: dict[str, Any] = {}
    if environ.get(KEY_VARIABLE):
        out["key"] = _material(KEY_VARIABLE, environ[KEY_VARIABLE])
    if environ.get(VERSION_VARIABLE):
        text = environ[VERSION_VARIABLE]
        if not text.isdigit() or int(text) < 1:
            raise OptionValueError(VERSION_VARIABLE, "must be a positive integer")
        out["key_version"] = int(text)
    previous = {}
    for name, value in environ.items():
        suffix = name.removeprefix(PREVIOUS_PREFIX)
        if name.startswith(PREVIOUS_PREFIX) and suffix.isdigit() and value:
            previous[int(suffix)] = _material(name, value)
    if previous:
        out["previous_keys"] = previous
    return out


def _material(variable: str, text: str) -> KeyMaterial:
    if not text.startswith(_RAW_PREFIX):
        return text
    try:
        raw = base64.b64decode(text.removeprefix(_RAW_PREFIX), validate=True)
    except ValueError:
        raise OptionValueError(variable, "is not valid base64 after 'base64:'") from None
    if len(raw) != KEY_BYTES:
        raise OptionValueError(variable, f"must decode to {KEY_BYTES} bytes")
    return raw
