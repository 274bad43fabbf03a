"""Checks every stored string and JSON value shares, whatever the family."""

from __future__ import annotations

#: JSON nested deeper than this is refused: Python's encoder and decoder recurse once
#: per level, and a value that cannot be read back must not be stored.
MAX_JSON_DEPTH = 200


def unencodable(text: str) -> str | None:
    """Why ``text`` cannot be stored as UTF-8 (a lone surrogate), or None if it can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode: a lone surrogate at index {exc.start}"
    return None


def utf8_size(text: str) -> int | None:
    """The UTF-8 size of ``text``, or None if it holds a lone surrogate."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if the JSON ``text`` nests arrays and objects deeper than ``limit``.

    Only called when the text holds at least ``limit`` opening brackets, so the usual
    entry costs one ``str.count`` pair.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False
