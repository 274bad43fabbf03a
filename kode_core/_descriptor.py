"""The one parser of ``{kind, options}``: from a mapping, JSON text or a store URL.

Builder maps, :func:`parse_store`, ``create_store``, the environment factory and the
``kode`` command all read stores through it, so they agree on every rule:

- a descriptor is a mapping with ``"kind"`` (``"type"`` is accepted for the KODE SDK's
  configs) and optional ``"options"``, nothing else;
- a kind may be named by its aliases (``postgres`` for ``pg``), case-insensitively;
  kinds, aliases and URL schemes come from each plugin's registration, so a
  third-party kind gets all of it;
- a bad namespace is an :class:`~kode_core.InvalidOptionError` naming ``namespace``.

A store URL names the kind by its scheme, the server-side options by the rest, and
optionally the namespace by its fragment::

    sqlite:///relative/path.db          sqlite, path ``relative/path.db``
    sqlite:////absolute/path.db         sqlite, path ``/absolute/path.db``
    postgresql://user:pw@db:5432/kode   pg (also ``postgres://``), the URL as ``url``
    mongodb://db:27017/agents           mongo (also ``mongodb+srv://``); a path is ``database``
    redis://cache:6379/0                redis (also ``rediss://``)
    memory://                           memory (this process only)
    ...#tenant_a                        any of them, in namespace ``tenant_a``

Malformed text raises :class:`~kode_core.StoreSpecError`, which says what is wrong
and never shows a password.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit

import attrs

from ._errors import InvalidOptionError, StoreSpecError
from ._helpers import redact
from ._options import is_namespace
from ._registry import Registry, default_registry, missing_kind_hint

if TYPE_CHECKING:
    from ._family import Family

_FIELDS = frozenset({"kind", "type", "options"})
#: The embedded default: a SQLite file under the working directory.
EMBEDDED_KIND = "sqlite"
EMBEDDED_DEFAULT_PATH = os.path.join(".kode", "kode.db")


def _copy(options: Mapping[str, Any]) -> dict[str, Any]:
    return dict(options)


def _registry_or_default(registry: Registry | None) -> Registry:
    return registry or default_registry()


def parse_descriptor(
    value: object, registry: Registry, *, source: str = "descriptor"
) -> tuple[str, dict[str, Any]]:
    """``(kind, options)`` of a descriptor mapping; the kind resolved through ``registry``.

    Raises :class:`~kode_core.StoreSpecError` for a malformed descriptor and
    :class:`~kode_core.UnknownKindError` (listing the kinds) for an unknown kind.
    """
    if not isinstance(value, Mapping):
        raise StoreSpecError(source, f"must be a mapping, got {type(value).__name__}")
    extra = sorted(map(str, set(value) - _FIELDS))
    if extra:
        raise StoreSpecError(
            source, f"field {extra[0]!r} is unknown; a descriptor has 'kind' and 'options'"
        )
    if "kind" in value and "type" in value:
        raise StoreSpecError(source, "has both 'kind' and 'type'; give one")
    if "kind" not in value and "type" not in value:
        raise StoreSpecError(source, 'has no "kind" string; e.g. {"kind": "sqlite"}')
    name = value.get("kind", value.get("type"))
    options = value.get("options") or {}
    if not isinstance(options, Mapping):
        raise StoreSpecError(source, f"'options' must be a mapping or None, got {options!r}")
    return registry.resolve_kind(name), dict(options)


@attrs.frozen
class StoreConfig:
    """A store to open: its kind, server-side options and namespace.

    What :func:`~kode_core.parse_store` and :func:`~kode_core.store_config_from_env`
    return, for any service family: :meth:`defaults` is a builder map's defaults and
    :meth:`descriptor` the descriptor to build with. ``embedded`` marks the embedded
    default (SQLite at ``./.kode/kode.db``, its folder created on first use).
    """

    kind: str
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_copy, repr=False)
    namespace: str | None = None
    embedded: bool = False

    @classmethod
    def from_mapping(
        cls, value: object, registry: Registry | None = None, *, source: str = "store config"
    ) -> StoreConfig:
        """The config of ``{"kind": ..., "options": {...}}`` (server-side options allowed)."""
        kind, options = parse_descriptor(value, _registry_or_default(registry), source=source)
        namespace = options.pop("namespace", None)
        if namespace is not None:
            namespace = _check_namespace(kind, namespace)
        return cls(kind, options, namespace)

    def defaults(self, **overrides: Any) -> dict[str, dict[str, Any]]:
        """``{kind: server-side options}`` (namespace included), updated by ``overrides``.

        For the embedded default this also creates the folder ``./.kode`` (SQLite creates
        the file, not its folder), unless ``auto_migrate`` is off.
        """
        options = dict(self.options)
        if self.namespace is not None:
            options["namespace"] = self.namespace
        options.update(overrides)
        if self.embedded and options.get("auto_migrate", True):
            os.makedirs(os.path.dirname(str(options["path"])), exist_ok=True)
        return {self.kind: options}

    def descriptor(self) -> dict[str, Any]:
        """The wire descriptor that selects this store in a map made from :meth:`defaults`."""
        return {"kind": self.kind}

    def describe(self) -> str:
        """Where the store is, for people: ``pg at db:5432, namespace 'default'``. No secrets."""
        where = self.options.get("path") or self.options.get("url")
        text = self.kind if where is None else f"{self.kind} at {redact(str(where))}"
        return f"{text}, namespace {self.namespace or 'default'!r}"

    @asynccontextmanager
    async def open(
        self, family: Family[Any] | str, *, registry: Registry | None = None, **overrides: Any
    ) -> AsyncIterator[Any]:
        """Open this store's ``family`` store; its backend is closed on exit.

        ``overrides`` set more server-side options (``auto_migrate=False``...). Example::

            config = kode_core.parse_store("sqlite:///kode.db#tenant_a")
            async with config.open(kode_core.SESSIONS) as store:
                print(await store.list_sessions("my-project"))
        """
        from ._builders import BuilderMap

        async with BuilderMap(family, self.defaults(**overrides), registry=registry) as stores:
            yield stores.build(self.descriptor())


def embedded_default(namespace: str | None = None) -> StoreConfig:
    """The store used when nothing names one: SQLite at ``./.kode/kode.db``."""
    return StoreConfig(EMBEDDED_KIND, {"path": EMBEDDED_DEFAULT_PATH}, namespace, embedded=True)


def parse_store(text: str, *, registry: Registry | None = None) -> StoreConfig:
    """The store named by a URL or a JSON descriptor (see this module's documentation).

    Raises :class:`~kode_core.StoreSpecError` naming the problem: an unknown scheme
    or kind, a URL part that kind does not take, malformed JSON;
    :class:`~kode_core.InvalidOptionError` for a bad namespace. Option values are
    checked when a builder map is made from the result.
    """
    if not isinstance(text, str):
        raise StoreSpecError(f"store {text!r}", "not a string")
    stripped = text.strip()
    if not stripped:
        raise StoreSpecError("store ''", "empty; give a store URL or a JSON descriptor")
    reg = _registry_or_default(registry)
    if stripped.startswith("{"):
        return _parse_json(stripped, reg)
    return _parse_url(stripped, reg)


def server_url_options(parts: SplitResult) -> dict[str, Any]:
    """Options of a server URL with one host (``postgresql://``, ``redis://``): ``{"url": ...}``.

    For a plugin's ``url_options``; raises ``ValueError`` naming what is wrong.
    """
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"no host named; e.g. {parts.scheme}://localhost/...")
    return {"url": parts._replace(fragment="").geturl()}


def _check_namespace(kind: str, namespace: object) -> str:
    if not is_namespace(namespace):
        raise InvalidOptionError(
            kind,
            "namespace",
            f"must match [a-z][a-z0-9_]{{0,39}} (e.g. tenant_a), got {namespace!r}",
        )
    assert isinstance(namespace, str)
    return namespace


def _parse_url(text: str, registry: Registry) -> StoreConfig:
    shown = f"store URL {redact(text)!r}"
    schemes = [s for info in registry.backends() for s in info.url_schemes]
    if "://" not in text:
        examples = ", ".join(f"{s}://..." for s in schemes)
        raise StoreSpecError(
            shown, f'neither a store URL ({examples}) nor a JSON descriptor ({{"kind": ...}})'
        )
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise StoreSpecError(shown, f"not a valid URL: {exc}") from None
    info = registry.kind_for_scheme(parts.scheme)
    if info is None or info.url_options is None:
        known = ", ".join(f"{scheme}://" for scheme in schemes)
        hint = missing_kind_hint(parts.scheme)
        raise StoreSpecError(shown, f"unknown scheme {parts.scheme!r}; use one of {known} ({hint})")
    namespace = _check_namespace(info.kind, unquote(parts.fragment)) if parts.fragment else None
    try:
        options = info.url_options(parts)
    except ValueError as exc:
        raise StoreSpecError(shown, str(exc)) from None
    return StoreConfig(info.kind, options, namespace)


def _parse_json(text: str, registry: Registry) -> StoreConfig:
    shown = "the JSON descriptor"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreSpecError(
            shown, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise StoreSpecError(shown, f"not a JSON object but {type(value).__name__}")
    return StoreConfig.from_mapping(value, registry, source=shown)
