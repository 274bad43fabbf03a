"""Backend options and the wire policy.

Every field of a backend's options class is marked *wire-safe* (a client may
set it in a descriptor) or *server-only* (only the server's defaults may set
it: URLs, paths, credentials, TLS, pool sizes, timeouts). Validators raise
:class:`OptionValueError`, which the builder map turns into an
:class:`~kode_core.InvalidOptionError` naming the kind and the field.

Two kinds of options classes use these markers: a backend's :class:`BackendOptions`
(the engine: which server, how many connections; its server-only values decide which
builds share a pool) and a family's :class:`FamilyOptions` (what one service family
needs, e.g. the session store's summary fold; never part of the pool-sharing key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs

from ._errors import (
    InvalidOptionError,
    OptionValueError,
    ServerOnlyOptionError,
    UnknownOptionError,
)

WIRE_SAFE = "kode.wire_safe"
EXAMPLE = "kode.example"
_T = TypeVar("_T")
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,39}")


Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def check(predicate: Callable[[Any], bool], reason: str) -> Validator:
    """An attrs validator that refuses values for which ``predicate`` is false."""

    def validate(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not predicate(value):
            raise OptionValueError(attribute.name, f"{reason}, got {value!r}")

    return validate


def wire_safe(*, default: Any, validator: Validator | None = None) -> Any:
    """A field a client may set from a wire descriptor."""
    return attrs.field(default=default, validator=validator, metadata={WIRE_SAFE: True})


def server_only(
    *,
    default: Any,
    validator: Validator | None = None,
    secret: bool = False,
    example: Any = attrs.NOTHING,
) -> Any:
    """A field only the server's defaults may set; ``secret`` keeps it out of reprs.

    ``example`` is a valid value other than the default, for the conformance kit
    (needed when neither ``default + 1`` nor a callable is one).
    """
    metadata: dict[str, Any] = {WIRE_SAFE: False}
    if example is not attrs.NOTHING:
        metadata[EXAMPLE] = example
    return attrs.field(
        default=default,
        validator=validator,
        repr=_redact if secret else True,
        metadata=metadata,
    )


def _redact(value: object) -> str:
    return "'***'" if value else repr(value)


def is_namespace(value: object) -> bool:
    """Namespaces are short lowercase identifiers, safe as schema, table or key prefixes."""
    return isinstance(value, str) and _NAMESPACE.fullmatch(value) is not None


def is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def is_positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def is_bool(value: object) -> bool:
    return isinstance(value, bool)


def is_url(*schemes: str) -> Callable[[object], bool]:
    """A predicate for URLs with one of ``schemes`` and a host."""

    def predicate(value: object) -> bool:
        if not isinstance(value, str):
            return False
        parts = urlsplit(value)
        return parts.scheme in schemes and bool(parts.hostname)

    return predicate


def address_of(url: str) -> str:
    """``host:port`` of a URL, without credentials, for error messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


@attrs.frozen(kw_only=True)
class BackendOptions:
    """Options every backend has. Subclass with ``@attrs.frozen(kw_only=True)``.

    Only what concerns the engine belongs here; a service family's own settings go
    in its :class:`FamilyOptions`.
    """

    namespace: str = wire_safe(
        default="default",
        validator=check(is_namespace, "must match [a-z][a-z0-9_]{0,39}"),
    )
    connect_timeout: float = server_only(
        default=5.0, validator=check(is_positive_number, "must be a positive number of seconds")
    )
    auto_migrate: bool = server_only(default=True, validator=check(is_bool, "must be a bool"))

    def server_config(self) -> tuple[Any, ...]:
        """The server-only values: builds that agree on them share one backend."""
        return tuple(
            getattr(self, f.name) for f in attrs.fields(type(self)) if not f.metadata[WIRE_SAFE]
        )


@attrs.frozen(kw_only=True)
class FamilyOptions:
    """A service family's own settings. Subclass with ``@attrs.frozen(kw_only=True)``.

    Marked like backend options (:func:`wire_safe`, :func:`server_only`), set in the
    same defaults mapping and descriptors, but never part of the pool-sharing key:
    builds that differ only here share one backend.
    """


_O = TypeVar("_O", bound="BackendOptions | FamilyOptions")
AnyOptions = BackendOptions | FamilyOptions


def check_fields_marked(cls: type[AnyOptions]) -> None:
    """Refuse an options class with a field that is neither wire-safe nor server-only."""
    unmarked = [f.name for f in attrs.fields(cls) if WIRE_SAFE not in f.metadata]
    if unmarked:
        raise TypeError(f"{cls.__name__}: fields not marked wire_safe/server_only: {unmarked}")


def make_options(kind: str, cls: type[_O], values: Mapping[str, Any]) -> _O:
    """Build server-side options from a defaults mapping (any field may be set)."""
    return _construct(kind, cls, lambda: cls(**_known(kind, cls, values)))


def merge_wire(kind: str, base: _O, wire: Mapping[str, Any]) -> _O:
    """Merge a descriptor's wire options over server defaults, refusing server-only fields."""
    fields = attrs.fields_dict(type(base))
    for name in _known(kind, type(base), wire):
        if not fields[name].metadata[WIRE_SAFE]:
            raise ServerOnlyOptionError(kind, name)
    return _construct(kind, type(base), lambda: attrs.evolve(base, **wire))


def split_values(
    kind: str, classes: Sequence[type[Any]], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``values`` split by the options class that has each field (a field may be in several).

    A name no class has raises :class:`~kode_core.UnknownOptionError` listing every
    known field.
    """
    fields = [attrs.fields_dict(cls) for cls in classes]
    known = {name for names in fields for name in names}
    for name in values:
        if not isinstance(name, str) or name not in known:
            raise UnknownOptionError(kind, str(name), known)
    return [{k: v for k, v in values.items() if k in names} for names in fields]


def _known(kind: str, cls: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    fields = attrs.fields_dict(cls)
    for name in values:
        if not isinstance(name, str) or name not in fields:
            raise UnknownOptionError(kind, str(name), fields)
    return dict(values)


def _construct(kind: str, cls: type[_O], make: Callable[[], _O]) -> _O:
    try:
        return make()
    except OptionValueError as exc:
        raise InvalidOptionError(kind, exc.field, exc.reason) from None
