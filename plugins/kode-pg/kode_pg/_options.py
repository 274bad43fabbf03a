"""Options of the ``pg`` backend: what the server sets and what a wire descriptor may set."""

from __future__ import annotations

from typing import Any

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
    it may carry credentials and is never shown in reprs), the pool sizes and
    ``statement_timeout``. Wire-safe: ``namespace``, which selects the PostgreSQL
    schema ``kode_<namespace>``.
    """

    url: str = server_only(
        default="postgresql://localhost:5432/postgres",
        validator=check(
            is_url("postgresql", "postgres"), "must be a postgresql:// URL with a host"
        ),
        secret=True,
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
