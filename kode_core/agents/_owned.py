"""JSON values a store can trust not to have changed since it last encoded them.

A message record is frozen, but the JSON values inside it (``metadata``, a tool
call's ``input``, ``extra``...) are dicts and lists anyone holding them can change.
:func:`own` gives a record its own copies of them, of two container types that
count every change made to any of them (:func:`changes`). While that count has not
moved, a record :func:`own` was given still encodes to the text it encoded to then,
so a store may keep that text instead of encoding the record again.

The copies are ``dict`` and ``list`` subclasses: they compare, print, encode to
JSON and pickle as the plain containers do, and changing them stays allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, SupportsIndex, cast

import attrs

from .. import _json
from .._record_codec import Record


class _Changes:
    count = 0


def changes() -> int:
    """How many times any owned container has been changed so far (only ever grows)."""
    return _Changes.count


def _changed() -> None:
    _Changes.count += 1


class OwnedDict(dict[str, Any]):
    """A dict a store owns: every change to it is counted."""

    __slots__ = ()

    def __setitem__(self, key: str, value: Any) -> None:
        _changed()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        _changed()
        super().__delitem__(key)

    def __ior__(self, other: Any) -> OwnedDict:  # type: ignore[override,misc]
        _changed()
        return super().__ior__(other)

    def clear(self) -> None:
        _changed()
        super().clear()

    def pop(self, *args: Any) -> Any:
        _changed()
        return super().pop(*args)

    def popitem(self) -> tuple[str, Any]:
        _changed()
        return super().popitem()

    def setdefault(self, key: str, default: Any = None) -> Any:
        _changed()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        _changed()
        super().update(*args, **kwargs)


class OwnedList(list[Any]):
    """A list a store owns: every change to it is counted."""

    __slots__ = ()

    def __setitem__(self, index: Any, value: Any) -> None:
        _changed()
        super().__setitem__(index, value)

    def __delitem__(self, index: Any) -> None:
        _changed()
        super().__delitem__(index)

    def __iadd__(self, other: Any) -> OwnedList:  # type: ignore[misc]
        _changed()
        return super().__iadd__(other)

    def __imul__(self, times: SupportsIndex) -> OwnedList:
        _changed()
        return super().__imul__(times)

    def append(self, value: Any) -> None:
        _changed()
        super().append(value)

    def extend(self, values: Any) -> None:
        _changed()
        super().extend(values)

    def insert(self, index: SupportsIndex, value: Any) -> None:
        _changed()
        super().insert(index, value)

    def pop(self, index: SupportsIndex = -1) -> Any:
        _changed()
        return super().pop(index)

    def remove(self, value: Any) -> None:
        _changed()
        super().remove(value)

    def clear(self) -> None:
        _changed()
        super().clear()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        _changed()
        super().sort(*args, **kwargs)

    def reverse(self) -> None:
        _changed()
        super().reverse()


# Neither keeps its items anywhere but where dict and list do: orjson may encode them.
_json.encode_as_plain(OwnedDict)
_json.encode_as_plain(OwnedList)


def _owned(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, Record):
        return own(value)
    if isinstance(value, Mapping):
        return OwnedDict({key: _owned(item) for key, item in value.items()})
    if kind is tuple:  # a record's field (content blocks, ids): immutable itself
        return tuple(_owned(item) for item in value)
    if isinstance(value, list):
        return OwnedList(_owned(item) for item in value)
    return value  # an enum member, a datetime: immutable


_set = object.__setattr__


def own(record: Record) -> Record:
    """``record`` itself, now holding copies of its JSON values only :mod:`_owned` changes.

    Call it on a checked record only: the copies are equal to what they replace, so
    the record's value (and its JSON text) is what it was.
    """
    for a in attrs.fields(cast(Any, type(record))):
        value = getattr(record, a.name)
        copy = _owned(value)
        if copy is not value:
            _set(record, a.name, copy)
    return record
