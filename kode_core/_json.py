"""The JSON text every family stores: orjson's speed, the standard library's rules.

kode stores compact JSON (no spaces, non-ASCII characters as they are) and refuses
what the standard library's encoder refuses with ``allow_nan=False``: NaN and the
infinities, and every value that is not a dict, list, tuple, str, int, float, bool or
None. orjson encodes the same data several times faster, but it writes
NaN as ``null`` and encodes some types the rules refuse (``uuid.UUID``, enum members,
datetimes, dataclasses). So:

- :func:`dumps` lets orjson encode what it can, with datetimes, dataclasses and
  subclasses of the plain types handed back to the standard encoder, then reads the
  text back and compares it with the value, so a NaN, a UUID or an enum member that
  orjson let through is found. Anything orjson refuses or that does not
  compare equal is encoded by the standard library, which either encodes it as
  before (integers beyond 64 bits, keys that are numbers, ``IntEnum`` members) or
  raises its usual ``TypeError``/``ValueError``.

- :func:`loads` reads with orjson, except text holding a run of 19 digits or more
  (found with one ``bytes.translate``): orjson reads an integer beyond 64 bits as a
  float, and the standard library reads it exactly. What orjson refuses (the ``NaN``
  literal, a lone surrogate's escape) is read by the standard library too, which
  returns what it always did or raises its ``JSONDecodeError``.

Text written by either encoder reads back to equal values; a float may be spelled
differently (``1e16`` by orjson, ``1e+16`` by the standard library).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ._text import utf8_size

_standard = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# Types whose JSON orjson writes by its own rules (ISO datetimes, a dataclass's fields,
# a subclass's underlying value) go to `_standard_only`, which refuses them: the
# standard encoder decides instead. Subclasses registered as plain are copied to
# their base type and encoded by orjson.
_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_PLAIN: dict[type, type] = {}
# Every digit to "0", every other byte to " ": a number orjson would read as a float
# although it is an integer (below -2**63 or from 2**64) leaves 19 zeros in a row.
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 19


def encode_as_plain(subclass: type[dict[Any, Any]] | type[list[Any]]) -> None:
    """Let orjson encode ``subclass`` as its base ``dict`` or ``list``.

    Only for a subclass that keeps its items where the base type does (no ``items``
    or ``__iter__`` of its own), whose JSON is then the base type's JSON.
    """
    _PLAIN[subclass] = dict if issubclass(subclass, dict) else list


def _standard_only(value: object) -> Any:
    base = _PLAIN.get(type(value))
    if base is None:
        raise TypeError
    return base(value)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value``, by the standard library's rules (see the module).

    The text orjson writes is read back and compared with ``value``, which catches
    what orjson encodes silently but the rules refuse (NaN, UUIDs, enum members).

    Raises what ``json.dumps`` raises: ``TypeError``, ``ValueError``, ``RecursionError``.
    """
    return dumps_sized(value)[0]


def dumps_sized(value: Any) -> tuple[str, int | None]:
    """:func:`dumps` and the text's size in UTF-8, None if it holds a lone surrogate
    (which only the standard encoder writes: such text cannot be stored)."""
    try:
        raw = orjson.dumps(value, _standard_only, _OPTIONS)
    except (orjson.JSONEncodeError, RecursionError):
        return _standard_sized(value)
    if orjson.loads(raw) != value:
        return _standard_sized(value)
    return raw.decode(), len(raw)


def _standard_sized(value: Any) -> tuple[str, int | None]:
    text = _standard.encode(value)
    return text, utf8_size(text)


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``, as ``json.loads`` reads it (see the module).

    Raises ``json.JSONDecodeError`` (a ``ValueError``) for text that is not JSON.
    """
    try:
        raw = text.encode() if isinstance(text, str) else text
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 for orjson to read
        return json.loads(text)
    if _LONG_NUMBER in raw.translate(_DIGITS):
        return json.loads(text)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(text)
