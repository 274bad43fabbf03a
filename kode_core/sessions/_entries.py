"""Validation and JSON encoding of transcript entries, shared by every backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _json
from .._errors import InvalidEntryError
from .._text import MAX_JSON_DEPTH, too_deep, unencodable
from ._records import EncodedEntry


def encode_entry(index: int, entry: object, max_entry_bytes: int) -> EncodedEntry:
    """Validate one entry and return its JSON text; raise :class:`InvalidEntryError`."""
    # A dict is the usual entry: its exact type needs no abstract-class check.
    if type(entry) is not dict and not isinstance(entry, Mapping):
        raise InvalidEntryError(index, f"must be a JSON object, got {type(entry).__name__}")
    entry_type = entry.get("type")
    if not isinstance(entry_type, str):
        raise InvalidEntryError(index, "must have a string 'type'")
    uuid = entry.get("uuid")
    if uuid is not None:
        if not isinstance(uuid, str):
            raise InvalidEntryError(index, f"'uuid' must be a string, got {type(uuid).__name__}")
        if not uuid.isascii() and (problem := unencodable(uuid)):
            raise InvalidEntryError(index, f"'uuid' {problem}")
    try:
        text, size = _json.dumps_sized(entry)
    except RecursionError:
        raise InvalidEntryError(index, f"is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (TypeError, ValueError) as exc:
        raise InvalidEntryError(index, f"cannot be encoded as JSON ({exc})") from exc
    if size is None:
        raise InvalidEntryError(index, f"holds a string that {unencodable(text)}")
    if too_deep(text):
        raise InvalidEntryError(index, f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if size > max_entry_bytes:
        raise InvalidEntryError(
            index, f"is {size} bytes of JSON, over the limit of {max_entry_bytes} bytes"
        )
    return EncodedEntry(text=text, uuid=uuid or None, value=entry)


def encode_batch(entries: object, max_entry_bytes: int) -> list[EncodedEntry]:
    """Validate a whole batch before anything is written.

    Returns the encoded entries in call order, without repeats of a uuid seen
    earlier in the same batch (the batch is idempotent by uuid with itself too).
    """
    if isinstance(entries, (str, bytes, Mapping)) or not hasattr(entries, "__iter__"):
        raise InvalidEntryError(
            -1, f"a batch must be a list of entries, got {type(entries).__name__}"
        )
    encoded: list[EncodedEntry] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        item = encode_entry(index, entry, max_entry_bytes)
        if item.uuid is not None:
            if item.uuid in seen:
                continue
            seen.add(item.uuid)
        encoded.append(item)
    return encoded


def decode_entry(text: str | bytes) -> dict[str, Any]:
    """Decode one stored entry."""
    value: dict[str, Any] = _json.loads(text)
    return value
