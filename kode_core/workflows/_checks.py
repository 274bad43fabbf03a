"""Argument checks of the workflow store: every one runs before any I/O."""

from __future__ import annotations

import enum
import math
from datetime import datetime
from typing import Any, TypeVar

from .._errors import InvalidRecordError, NotFoundError
from .._record_codec import check_json, choice, dumps, to_ms
from .._text import MAX_JSON_DEPTH, unencodable, utf8_size
from ..agents._store import check_agent_id
from ._rows import StepMatch

_E = TypeVar("_E", bound=enum.Enum)
_INT64 = 2**63
MAX_PAGE = 10_000


def check_id(value: object, name: str) -> str:
    """A run id, step id, step name, workflow name...: 1 to 512 characters, no NUL."""
    return check_agent_id(value, name)


def check_optional_id(value: object, name: str) -> str | None:
    return None if value is None else check_id(value, name)


def check_enum(cls: type[_E], value: object, name: str) -> _E:
    result: _E = choice(cls).decode(value, name)
    return result


def check_count(value: object, name: str, *, minimum: int = 0, maximum: int = _INT64 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidRecordError(name, f"must be an int from {minimum} to {maximum}, got {value!r}")
    return value


def check_delay(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecordError(name, f"must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise InvalidRecordError(name, f"must be finite and not negative, got {value!r}")
    return float(value)


def check_time(value: object, name: str) -> int:
    """An aware ``datetime`` as epoch milliseconds."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRecordError(name, f"must be a timezone-aware datetime, got {value!r}")
    return to_ms(value)


def encode_json(value: Any, name: str, max_bytes: int) -> str:
    """``value`` as compact JSON text, refused if it is not JSON or over ``max_bytes``."""
    return encode_checked(check_json(value, name), name, max_bytes)


def encode_checked(value: Any, name: str, max_bytes: int) -> str:
    """As :func:`encode_json`, for a value whose parts :func:`check_json` already passed."""
    try:
        text = dumps(value)
    except RecursionError:
        raise InvalidRecordError(name, f"is nested deeper than {MAX_JSON_DEPTH} levels") from None
    size = utf8_size(text)
    if size is None:
        raise InvalidRecordError(name, f"holds a string that {unencodable(text)}")
    if size > max_bytes:
        raise InvalidRecordError(
            name, f"is {size} bytes of JSON, over the limit of {max_bytes} bytes"
        )
    return text


def run_not_found(run_id: str) -> NotFoundError:
    return NotFoundError(f"no workflow run {run_id!r}", run_id=run_id)


def step_not_found(match: StepMatch) -> NotFoundError:
    if match.by_id:
        return NotFoundError(f"no step {match.step_id!r}", step_id=match.step_id)
    return NotFoundError(
        f"run {match.run_id!r} has no step {match.step_name!r}",
        run_id=match.run_id,
        step_name=match.step_name,
    )
