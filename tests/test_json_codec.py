"""kode_core._json: orjson's speed must not change what kode stores or refuses."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from typing import Any

import orjson
import pytest

from kode_core import _json

_standard = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Tone(str, enum.Enum):
    WARM = "warm"


@dataclasses.dataclass
class Point:
    x: int


class Ordered(collections.OrderedDict[str, Any]):
    pass


# Values both encoders accept; kode must store the same JSON value the standard
# library would (the text may spell a float differently).
ACCEPTED: dict[str, Any] = {
    "plain": {"type": "a", "n": 1, "f": 0.1, "s": "héllo 你好 🚀", "l": [True, None]},
    "control_characters": {"t": 'a\u0000b\n\t"\\\u2028\x7f'},
    "floats": [0.1, -0.0, 1e308, 5e-324, 1e16, 1e-7, 123456789.123456789],
    "int64_edges": [2**63 - 1, -(2**63), 2**64 - 1],
    "beyond_64_bits": {"big": 2**70, "negative": -(2**64) - 1},
    "number_keys": {1: "one", 2.5: "x", False: "f", None: "n"},
    "tuples": {"t": (1, (2, 3))},
    "int_enum": {"level": Level.HIGH},
    "str_enum": {"tone": Tone.WARM},
    "dict_subclass": Ordered(a=1),
    "nested_199": json.loads("[" * 199 + "]" * 199),
}

# Values the standard library refuses: kode must refuse them too, with its error.
REFUSED: dict[str, Any] = {
    "nan": {"v": float("nan")},
    "infinity": [float("inf")],
    "negative_infinity": {"v": [float("-inf")]},
    "uuid": {"id": uuid.UUID(int=1)},
    "enum_member": {"c": Colour.RED},
    "datetime": {"at": datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc)},
    "date": [datetime.date(2026, 12, 6)],
    "dataclass": {"p": Point(1)},
    "decimal": {"d": decimal.Decimal("1.5")},
    "set": {"s": {1}},
    "bytes": {"b": b"x"},
    "fragment": {"raw": orjson.Fragment(b"[1]")},
    "tuple_key": {(1, 2): "x"},
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_values_store_what_the_standard_library_stores(case: str) -> None:
    value = ACCEPTED[case]
    text, size = _json.dumps_sized(value)
    if case == "floats":  # orjson spells 1e16 and 1e-7 without the standard's + and 0
        assert json.loads(text) == json.loads(_standard.encode(value))
    else:
        assert text == _standard.encode(value)
    assert size == len(text.encode("utf-8"))


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_verified_values_are_refused_as_the_standard_library_refuses_them(case: str) -> None:
    value = REFUSED[case]
    with pytest.raises((TypeError, ValueError)) as standard:
        _standard.encode(value)
    with pytest.raises(type(standard.value)):
        _json.dumps(value)


def test_orjson_alone_would_let_nan_uuids_and_enum_members_through() -> None:
    # Why dumps reads its text back: if this ever fails, orjson changed and the
    # read-back could go.
    assert orjson.dumps([float("nan")]) == b"[null]"
    assert orjson.dumps([uuid.UUID(int=1)]) == b'["00000000-0000-0000-0000-000000000001"]'
    assert orjson.dumps([Colour.RED]) == orjson.dumps([Colour.RED.value])


def test_a_lone_surrogate_has_no_utf8_size() -> None:
    text, size = _json.dumps_sized({"t": "a\ud800"})
    assert size is None
    assert "\ud800" in text


def test_a_circular_value_is_refused_not_looped_on() -> None:
    value: list[Any] = []
    value.append(value)
    with pytest.raises(ValueError, match="Circular"):
        _json.dumps(value)


def test_a_subclass_registered_as_plain_is_encoded_by_orjson_as_its_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Counted(dict[str, Any]):
        pass

    assert _json.dumps(Counted(a=1)) == '{"a":1}'  # unregistered: the standard encoder's
    monkeypatch.setitem(_json._PLAIN, Counted, dict)
    asked: list[object] = []
    monkeypatch.setattr(_json._standard, "encode", asked.append)
    assert _json.dumps({"outer": Counted(a=[1, Counted(b=2)])}) == ('{"outer":{"a":[1,{"b":2}]}}')
    assert asked == []  # orjson wrote it all


# Text the reader must read exactly as json.loads does, orjson or not.
READ: dict[str, str] = {
    "plain": '{"type":"a","n":[1,2.5,-0.0,null,true],"s":"héllo 🚀\\n"}',
    "beyond_64_bits": '{"big":1180591620717411303424,"small":-18446744073709551617}',
    "nineteen_digits_below_int64": "[-9999999999999999999,-9223372036854775809]",
    "uint64_max": "[18446744073709551615,-9223372036854775808]",
    "nan_literal": '{"v":NaN,"w":-Infinity}',
    "lone_surrogate_escape": '["\\ud800"]',
    "float_overflow": "[1e400]",
    "digits_in_a_string": '{"id":"12345678901234567890123"}',
    "whitespace": ' { "a" : [ 1 ] } ',
    "duplicate_keys": '{"a":1,"a":2}',
}


@pytest.mark.parametrize("case", sorted(READ))
@pytest.mark.parametrize("as_bytes", [False, True])
def test_reading_gives_what_json_loads_gives(case: str, as_bytes: bool) -> None:
    text = READ[case]
    expected = json.loads(text)
    value = _json.loads(text.encode() if as_bytes else text)
    assert repr(value) == repr(expected)  # repr: nan and -0.0 compare, types show


def test_reading_a_lone_surrogate_in_the_text_itself() -> None:
    assert _json.loads('["a\ud800"]') == json.loads('["a\ud800"]')


@pytest.mark.parametrize("text", ["", "{", '{"a":1} x', "[1,]"])
def test_text_that_is_not_json_raises_json_decode_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        _json.loads(text)


def test_orjson_still_reads_a_long_integer_as_a_float_so_the_digit_check_matters() -> None:
    # The reason for the check: if this ever fails, orjson changed and the check could go.
    assert isinstance(orjson.loads("-9999999999999999999"), float)
