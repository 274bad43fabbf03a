"""Records to and from JSON objects: strict decoding with a field path, unknown keys kept.

Every stored record is an ``attrs`` frozen class deriving from :class:`Record`.
Its fields carry a :class:`Codec` in their metadata; :meth:`Record.from_dict`
validates a JSON object field by field (an error names the path, e.g.
``messages[2].content[0].id``) and keeps keys it does not know in ``extra``, so
data written by a newer runtime round-trips unchanged.

Text a store wrote itself was checked on its way in: :meth:`Record.from_stored`
reads it back without checking every JSON value again (input from elsewhere, such
as ``kode import``, goes through :meth:`Record.from_json`).
"""

from __future__ import annotations

import enum
import json
import math
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar, cast

import attrs

from . import _json
from ._errors import InvalidRecordError
from ._text import MAX_JSON_DEPTH

UTC = timezone.utc

_R = TypeVar("_R", bound="Record")


@attrs.frozen
class Codec:
    """How one field is checked when read from JSON and written back to it.

    ``stored`` reads back a value ``encode`` wrote, unchecked (``None``: as it is).
    """

    decode: Callable[[Any, str], Any]
    encode: Callable[[Any], Any] = lambda value: value
    stored: Callable[[Any], Any] | None = None


def _type_name(value: object) -> str:
    return type(value).__name__


def _expect(*types: type, what: str) -> Codec:
    def decode(value: Any, path: str) -> Any:
        if isinstance(value, bool) and bool not in types:
            raise InvalidRecordError(path, f"must be {what}, got bool")
        if not isinstance(value, types):
            raise InvalidRecordError(path, f"must be {what}, got {_type_name(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRecordError(path, f"must be a finite number, got {value}")
        return value

    return Codec(decode)


STR = _expect(str, what="a string")
_INT64 = 2**63
_ANY_INT = _expect(int, what="an int")


def _int64(value: Any, path: str) -> Any:
    value = _ANY_INT.decode(value, path)
    if not -_INT64 <= value < _INT64:  # every engine stores integers in 64 bits
        raise InvalidRecordError(path, f"must fit in 64 bits (below 2**63), got {value}")
    return value


INT = Codec(_int64)


def check_count(label: str, value: object, least: int = 0) -> int:
    """``value`` if it is an int (not a bool) from ``least`` to 2**63 - 1, what every
    engine stores: a limit, an offset, a sequence number, a page size."""
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value < _INT64:
        raise InvalidRecordError(label, f"must be an int from {least} to 2**63 - 1, got {value!r}")
    return value


NUMBER = _expect(int, float, what="a number")
BOOL = _expect(bool, what="a bool")


def non_negative(codec: Codec) -> Codec:
    """``codec`` refusing values below zero."""

    def decode(value: Any, path: str) -> Any:
        value = codec.decode(value, path)
        if value < 0:
            raise InvalidRecordError(path, f"must not be negative, got {value}")
        return value

    return Codec(decode, codec.encode, codec.stored)


def check_json(value: Any, path: str, depth: int = 0) -> Any:
    """``value`` as plain JSON data (lists, dicts with string keys, finite numbers),
    nested at most :data:`~kode_core._text.MAX_JSON_DEPTH` levels."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # the common cases first
        return value
    if depth >= MAX_JSON_DEPTH and (kind is dict or kind is list or kind is tuple):
        raise InvalidRecordError(path, f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if kind is dict or isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise InvalidRecordError(path, f"has a non-string key {key!r}")
            out[key] = check_json(item, f"{path}.{key}", depth + 1)
        return out
    if kind is list or kind is tuple:
        return [check_json(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRecordError(path, f"is not JSON: {value}")
        return value
    if isinstance(value, (str, int)):  # subclasses: a str enum, an IntEnum
        return value
    raise InvalidRecordError(path, f"is not JSON: a {_type_name(value)}")


JSON = Codec(check_json)


def _decode_object(value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise InvalidRecordError(path, f"must be a JSON object, got {_type_name(value)}")
    return check_json(value, path)


OBJECT = Codec(_decode_object)


def _decode_time(value: Any, path: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidRecordError(path, "must be timezone-aware (kode stores UTC)")
        return value.astimezone(UTC)
    if isinstance(value, str):
        try:
            return _decode_time(datetime.fromisoformat(value), path)
        except ValueError:
            raise InvalidRecordError(path, f"is not an ISO-8601 time: {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    raise InvalidRecordError(
        path, f"must be a datetime, ISO-8601 string or epoch ms, got {value!r}"
    )


def _encode_time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _stored_time(value: str) -> datetime:
    time = datetime.fromisoformat(value)
    return time if time.tzinfo is UTC else _decode_time(time, "")


TIME = Codec(_decode_time, _encode_time, _stored_time)


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of a UTC time (what engines index and compare)."""
    return int(value.timestamp() * 1000)


def plain(value: Any) -> Any:
    """An enum member's value; anything else as it is."""
    return value.value if isinstance(value, enum.Enum) else value


def choice(enum_cls: type[enum.Enum]) -> Codec:
    """A string that must be one of ``enum_cls``' values."""
    allowed = ", ".join(str(member.value) for member in enum_cls)

    def decode(value: Any, path: str) -> Any:
        if isinstance(value, enum_cls):
            return value
        try:
            return enum_cls(value)
        except ValueError:
            raise InvalidRecordError(path, f"must be one of {allowed}, got {value!r}") from None

    members = {member.value: member for member in enum_cls}
    return Codec(decode, plain, members.__getitem__)


def const(expected: str) -> Codec:
    """A string that must equal ``expected`` (a content block's ``type``)."""

    def decode(value: Any, path: str) -> Any:
        if value != expected:
            raise InvalidRecordError(path, f"must be {expected!r}, got {value!r}")
        return value

    return Codec(decode)


def optional(codec: Codec) -> Codec:
    """``codec`` or ``None``."""
    stored = codec.stored
    return Codec(
        lambda value, path: None if value is None else codec.decode(value, path),
        lambda value: None if value is None else codec.encode(value),
        None if stored is None else lambda value: None if value is None else stored(value),
    )


def list_of(codec: Codec) -> Codec:
    """A JSON array whose items each pass ``codec``."""

    def decode(value: Any, path: str) -> Any:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise InvalidRecordError(path, f"must be a list, got {_type_name(value)}")
        return tuple(codec.decode(item, f"{path}[{i}]") for i, item in enumerate(value))

    def encode(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [codec.encode(item) for item in value]
        return value

    item = codec.stored
    return Codec(decode, encode, tuple if item is None else lambda value: tuple(map(item, value)))


def record(cls: type[Record]) -> Codec:
    """A nested record."""
    return Codec(lambda value, path: cls.coerce(value, path), _encode_record, stored_reader(cls))


def _encode_record(value: Any) -> Any:
    return value.to_dict() if isinstance(value, Record) else value


def field(codec: Codec, **kwargs: Any) -> Any:
    """An attrs field read and written through ``codec``."""
    return attrs.field(metadata={"codec": codec}, **kwargs)


class _NoExtra(Mapping[str, Any]):
    """The ``extra`` of every record without unknown keys: one shared, empty, read-only
    mapping, so reading many records keeps no empty dict per record (nor has the
    garbage collector walk one). Equal to ``{}``; pickles and copies as itself."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "NO_EXTRA"


NO_EXTRA: Mapping[str, Any] = _NoExtra()


def extra_field() -> Any:
    """The ``extra`` field every record ends with: unknown keys, kept verbatim
    (:data:`NO_EXTRA` when there are none)."""
    return attrs.field(default=NO_EXTRA, repr=False)


class Record:
    """Base of stored records: JSON in and out, strict on the way in."""

    # Set on a record coerce checked or a store read back (never an attrs field, so
    # it takes no part in ==, repr or copies): saving it again skips the check.
    __slots__ = ("_kode_checked",)

    extra: Mapping[str, Any]

    @classmethod
    def from_dict(cls: type[_R], data: object, path: str | None = None) -> _R:
        """Validate a JSON object into a record; :class:`InvalidRecordError` names the path."""
        path = path or cls.__name__
        if type(data) is not dict and not isinstance(data, Mapping):
            raise InvalidRecordError(path, f"must be a JSON object, got {_type_name(data)}")
        fields, names = _fields_of(cls)
        values: dict[str, Any] = {}
        for name, codec, required, _ in fields:
            if name in data:
                values[name] = codec.decode(data[name], f"{path}.{name}")
            elif required:
                raise InvalidRecordError(f"{path}.{name}", "is required")
        extra = {key: value for key, value in data.items() if key not in names}
        values["extra"] = check_json(extra, path) if extra else NO_EXTRA
        return cls(**values)

    @classmethod
    def from_json(cls: type[_R], text: str | bytes) -> _R:
        """:meth:`from_dict` of JSON text; :meth:`coerce` then passes the record through."""
        return _checked(cls.from_dict(json.loads(text)))

    @classmethod
    def from_stored(cls: type[_R], text: str | bytes) -> _R:
        """The record a store wrote as ``text``, read back without checking it again.

        Only for text kode encoded from a checked record (a row of its own store):
        the result equals :meth:`from_json`'s, and :meth:`coerce` passes it through.
        Text the fast reader cannot build from (a missing field, an unknown enum
        value, a time kode does not write) falls back to :meth:`from_json`, which
        says what is wrong; other wrong values are not looked for.
        """
        read = _STORED.get(cls) or stored_reader(cls)
        try:
            record: _R = read(_json.loads(text))
            _mark(record, "_kode_checked", True)  # _checked, inline: called per row
            return record
        except Exception:  # not what kode writes: let the strict path name the problem
            return cls.from_json(text)

    @classmethod
    def coerce(cls: type[_R], value: object, path: str | None = None) -> _R:
        """A validated record from a record or a mapping (records built in code are re-checked)."""
        if isinstance(value, Record) and not isinstance(value, cls):
            raise InvalidRecordError(
                path or cls.__name__, f"must be a {cls.__name__}, got {_type_name(value)}"
            )
        if isinstance(value, cls) and _was_checked(value):
            return value  # checked by an earlier coerce, or read back by from_json
        if not isinstance(value, Record):
            return _checked(cls.from_dict(value, path))
        data = value.to_dict()
        checked = cls.from_dict(data, path)
        # A record built in code that was already canonical is remembered itself, so
        # the caller's next save of the same object is not checked again. Canonical:
        # the same JSON, and an enum member wherever checking gives one (a role given
        # as "user" encodes like Role.USER, but code reading ``role.value`` fails on it).
        own = cast(_R, value)  # refused above unless it is a cls
        canonical = checked.to_dict() == data and all(
            type(getattr(own, name)) is type(getattr(checked, name))
            for name, *_ in _fields_of(cls)[0]
            if isinstance(getattr(checked, name), enum.Enum)
        )
        return _checked(own if canonical else checked)

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON object (``extra`` keys included)."""
        out: dict[str, Any] = dict(self.extra) if isinstance(self.extra, Mapping) else {}
        for name, codec, _, optional in _fields_of(type(self))[0]:
            value = getattr(self, name)
            if value is None and optional:
                continue  # an unset optional field is left out, as in the wire format
            out[name] = codec.encode(value)
        return out

    def to_json(self) -> str:
        """Compact JSON text of :meth:`to_dict`."""
        return _json.dumps(self.to_dict())  # verified: its JSON values may have changed


# Saving a conversation just loaded does not check its messages a second time.
_mark = object.__setattr__


def _checked(record: _R) -> _R:
    _mark(record, "_kode_checked", True)
    return record


def _was_checked(record: Record) -> bool:
    return getattr(record, "_kode_checked", False)


_Field = tuple[str, Codec, bool, bool]


_FIELDS: dict[type[Record], tuple[tuple[_Field, ...], frozenset[str]]] = {}


def _fields_of(cls: type[Record]) -> tuple[tuple[_Field, ...], frozenset[str]]:
    """``(name, codec, required, optional)`` of each field but ``extra``, and their names."""
    known = _FIELDS.get(cls)
    if known is not None:
        return known
    fields = tuple(
        (a.name, a.metadata["codec"], a.default is attrs.NOTHING, a.default is None)
        for a in attrs.fields(cls)  # type: ignore[arg-type]
        if a.name != "extra"
    )
    known = _FIELDS[cls] = (fields, frozenset(name for name, *_ in fields))
    return known


_STORED: dict[type[Record], Callable[[dict[str, Any]], Any]] = {}


def stored_reader(cls: type[_R]) -> Callable[[dict[str, Any]], _R]:
    """What builds a ``cls`` from a JSON object kode wrote, unchecked.

    The object is consumed: its known keys are popped, the rest becomes ``extra``.
    Like attrs' ``__init__``, the reader is compiled once per class: one call per
    record, no loop over the fields, and (for a plain slotted record, the usual
    kind) the slots filled directly, which is what makes reading back fast.
    """
    known = _STORED.get(cls)
    if known is not None:
        return known
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    names: dict[str, Any] = {
        "cls": cls,
        "missing": attrs.NOTHING,
        "new": object.__new__,
        "no_extra": NO_EXTRA,
    }
    lines, values = [], []
    for a in fields:
        if a.name == "extra":
            values.append((a, "data or no_extra"))
            continue
        reader = a.metadata["codec"].stored
        names[f"read_{a.name}"] = reader
        read = "{}" if reader is None else f"read_{a.name}({{}})"
        if a.default is attrs.NOTHING:
            values.append((a, read.format(f"data.pop({a.name!r})")))
            continue
        if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            names[f"default_{a.name}"] = a.default.factory
            default = f"default_{a.name}()"
        else:
            names[f"default_{a.name}"] = a.default
            default = f"default_{a.name}"
        lines.append(f"    {a.name} = data.pop({a.name!r}, missing)")
        values.append((a, f"{default} if {a.name} is missing else {read.format(a.name)}"))
    if _fills_slots(cls, fields):
        lines.append("    record = new(cls)")
        for a, value in values:
            names[f"set_{a.name}"] = getattr(cls, a.name).__set__
            if a.converter is not None:
                names[f"convert_{a.name}"] = a.converter
                value = f"convert_{a.name}({value})"
            lines.append(f"    set_{a.name}(record, {value})")
        lines.append("    return record")
    else:  # validators or a post-init hook: attrs' __init__ must run them
        lines.append(f"    return cls({', '.join(f'{a.name}=({v})' for a, v in values)})")
    source = "\n".join(["def read(data):", *lines])
    exec(compile(source, f"<stored reader of {cls.__qualname__}>", "exec"), names)
    _STORED[cls] = names["read"]
    return cast(Callable[[dict[str, Any]], _R], names["read"])


_CONVERTER: Any = getattr(attrs, "Converter", ())  # attrs >= 24.1


def _fills_slots(cls: type[Record], fields: Sequence[attrs.Attribute[Any]]) -> bool:
    """Whether a record is built by setting its slots (converters applied by the reader)."""
    return not hasattr(cls, "__attrs_post_init__") and all(
        a.validator is None
        and not isinstance(a.converter, _CONVERTER)  # one that takes self needs __init__
        and isinstance(getattr(cls, a.name, None), types.MemberDescriptorType)
        and not getattr(a.default, "takes_self", False)
        for a in fields
    )


def dumps(value: Any) -> str:
    """Compact JSON text, as every backend stores it (see :mod:`kode_core._json`)."""
    return _json.dumps(value)
