"""Options of the ``pg`` backend: what the server sets and what a wire descriptor may set."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

from kode_core.backend import (
    BackendOptions,
    OptionValueError,
    check,
    is_positive_int,
    is_positive_number,
    is_url,
    server_only,
)

#: Query parameters of a kode-pg URL that kode reads and libpq never sees.
PREPARE_THRESHOLD = "prepare_threshold"
PGBOUNCER = "pgbouncer"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _is_threshold(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without kode's own query parameters, and those parameters (last one wins).

    The other parameters stay as written: libpq decodes ``%XX`` only, not ``+``.
    """
    parts = urlsplit(url)
    kept: list[str] = []
    ours: dict[str, str] = {}
    for pair in parts.query.split("&") if parts.query else ():
        name, _, value = pair.partition("=")
        if unquote(name) in (PREPARE_THRESHOLD, PGBOUNCER):
            ours[unquote(name)] = unquote(value)
        else:
            kept.append(pair)
    if not ours:
        return url, {}
    return parts._replace(query="&".join(kept)).geturl(), ours


def url_prepare_threshold(params: dict[str, str], default: int | None) -> int | None:
    """The ``prepare_threshold`` that the URL's parameters make of ``default``.

    ``pgbouncer=true`` turns preparation off; ``prepare_threshold=N`` (or ``none``) sets
    it. Raises :exc:`ValueError` naming a parameter whose value is not understood.
    """
    threshold = default
    if PREPARE_THRESHOLD in params:
        text = params[PREPARE_THRESHOLD].strip().lower()
        if text in ("none", "null", ""):
            threshold = None
        elif text.isdigit():
            threshold = int(text)
        else:
            msg = f"URL parameter {PREPARE_THRESHOLD} must be a non-negative int or none"
            raise ValueError(f"{msg}, got {params[PREPARE_THRESHOLD]!r}")
    if PGBOUNCER in params:
        flag = params[PGBOUNCER].strip().lower()
        if flag not in (*_TRUE, *_FALSE):
            msg = f"URL parameter {PGBOUNCER} must be true or false"
            raise ValueError(f"{msg}, got {params[PGBOUNCER]!r}")
        if flag in _TRUE:
            threshold = None
    return threshold


def _check_url(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not is_url("postgresql", "postgres")(value):
        # Not the URL itself: it may hold a password.
        raise OptionValueError(attribute.name, "must be a postgresql:// URL with a host")
    assert isinstance(value, str)
    try:
        url_prepare_threshold(split_url(value)[1], None)
    except ValueError as exc:
        raise OptionValueError(attribute.name, str(exc)) from None


def _is_pool_floor(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_max_pool_size(inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not is_positive_int(value):
        raise OptionValueError(attribute.name, f"must be a positive int, got {value!r}")
    # attrs runs validators once every field is set, so the floor is already there.
    floor = getattr(inst, "min_pool_size", 0)
    if isinstance(floor, int) and isinstance(value, int) and value < floor:
        raise OptionValueError(
            attribute.name, f"must be at least min_pool_size ({floor}), got {value!r}"
        )


@attrs.frozen(kw_only=True)
class PgOptions(BackendOptions):
    """Options of the ``pg`` backend.

    Server-only: ``url`` (a ``postgresql://`` or ``postgres://`` URL with a host;
    it may carry credentials and is never shown in reprs), the pool sizes,
    ``statement_timeout`` (seconds, set with ``SET LOCAL`` in each of kode's
    transactions, so it never reaches other clients of a pooler) and
    ``prepare_threshold`` (psycopg's: prepare a statement on the server after it ran
    that many times on a connection; ``None``, the default, never prepares, which is
    what PgBouncer in transaction mode needs). The URL's query may set the last one
    too: ``?prepare_threshold=5``, or ``?pgbouncer=true`` for off; kode removes both
    parameters before libpq reads the URL. Wire-safe: ``namespace``, which selects
    the PostgreSQL schema ``kode_<namespace>``.
    """

    url: str = server_only(
        default="postgresql://localhost:5432/postgres", validator=_check_url, secret=True
    )
    min_pool_size: int = server_only(
        default=1, validator=check(_is_pool_floor, "must be a non-negative int")
    )
    max_pool_size: int = server_only(default=10, validator=_check_max_pool_size)
    statement_timeout: float | None = server_only(
        default=None,
        validator=check(
            lambda v: v is None or is_positive_number(v), "must be None or positive seconds"
        ),
    )
    prepare_threshold: int | None = server_only(
        default=None, validator=check(_is_threshold, "must be None or a non-negative int")
    )

    @property
    def effective_prepare_threshold(self) -> int | None:
        """``prepare_threshold`` as the URL's query parameters leave it."""
        return url_prepare_threshold(split_url(self.url)[1], self.prepare_threshold)
