"""Which store to open, named by a URL or a JSON descriptor: :class:`StoreConfig`.

A store URL names the kind by its scheme, the server-side options by the rest, and
optionally the namespace by its fragment::

    sqlite:///relative/path.db          sqlite, path ``relative/path.db``
    sqlite:////absolute/path.db         sqlite, path ``/absolute/path.db``
    postgresql://user:pw@db:5432/kode   pg (also ``postgres://``), the URL as ``url``
    mongodb://db:27017/agents           mongo (also ``mongodb+srv://``); a path is ``database``
    redis://cache:6379/0                redis (also ``rediss://``)
    memory://                           memory (this process only)
    ...#tenant_a                        any of them, in namespace ``tenant_a``

A JSON descriptor names any server-side option: ``{"kind": "pg", "options": {"url":
"postgresql://db/kode", "max_pool_size": 4, "namespace": "tenant_a"}}``. Both are the
operator's, not the wire's: they may set server-only options. Malformed text raises
:class:`~kode_core.StoreSpecError`, which says what is wrong and never shows a password.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

import attrs

from ._builders import session_stores
from ._errors import StoreSpecError
from ._options import is_namespace
from ._registry import Registry
from ._session_store import SessionStore

#: Names of kinds as operators write them (``KODE_STORE_TYPE``, descriptors) -> kinds.
KIND_ALIASES = {
    "sqlite": "sqlite",
    "postgres": "pg",
    "postgresql": "pg",
    "pg": "pg",
    "mongo": "mongo",
    "mongodb": "mongo",
    "redis": "redis",
    "memory": "memory",
}
#: URL schemes -> kinds.
URL_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "pg",
    "postgres": "pg",
    "mongodb": "mongo",
    "mongodb+srv": "mongo",
    "redis": "redis",
    "rediss": "redis",
    "memory": "memory",
}
#: The embedded default: a SQLite file under the working directory.
EMBEDDED_DEFAULT_PATH = os.path.join(".kode", "kode.db")
_DESCRIPTOR_FIELDS = frozenset({"kind", "options"})


def _copy(options: Mapping[str, Any]) -> dict[str, Any]:
    return dict(options)


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
    async def session_store(
        self, *, registry: Registry | None = None, **overrides: Any
    ) -> AsyncIterator[SessionStore]:
        """Open this store's session store; its backend is closed on exit.

        ``overrides`` set more server-side options (``auto_migrate=False``...). Example::

            async with kode_core.parse_store("sqlite:///kode.db#tenant_a").session_store() as store:
                print(await store.list_sessions("my-project"))
        """
        async with session_stores(self.defaults(**overrides), registry=registry) as stores:
            yield stores.build(self.descriptor())


def embedded_default(namespace: str | None = None) -> StoreConfig:
    """The store used when nothing names one: SQLite at ``./.kode/kode.db``."""
    return StoreConfig("sqlite", {"path": EMBEDDED_DEFAULT_PATH}, namespace, embedded=True)


def parse_store(text: str) -> StoreConfig:
    """The store named by a URL or a JSON descriptor (see this module's documentation).

    Raises :class:`~kode_core.StoreSpecError` naming the problem: an unknown scheme
    or kind, a URL part that kind does not take, malformed JSON, a bad namespace.
    Option values are checked when a builder map is made from the result.
    """
    if not isinstance(text, str):
        raise StoreSpecError(f"store {text!r}", "not a string")
    stripped = text.strip()
    if not stripped:
        raise StoreSpecError("store ''", "empty; give a store URL or a JSON descriptor")
    if stripped.startswith("{"):
        return _parse_descriptor(stripped)
    return _parse_url(stripped)


def redact(url: str) -> str:
    """``url`` with the password of its user info replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hosts}"
    return f"{scheme}://{netloc}{slash}{tail}"


def _check_namespace(spec: str, namespace: object) -> str:
    if not is_namespace(namespace):
        raise StoreSpecError(
            spec, f"namespace {namespace!r} must match [a-z][a-z0-9_]{{0,39}} (e.g. tenant_a)"
        )
    assert isinstance(namespace, str)
    return namespace


def _parse_url(text: str) -> StoreConfig:
    shown = f"store URL {redact(text)!r}"
    if "://" not in text and not text.startswith("memory:"):
        raise StoreSpecError(
            shown,
            "neither a store URL (sqlite:///path.db, postgresql://..., mongodb://..., "
            'redis://..., memory://) nor a JSON descriptor ({"kind": ...})',
        )
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise StoreSpecError(shown, f"not a valid URL: {exc}") from None
    kind = URL_SCHEMES.get(parts.scheme.lower())
    if kind is None:
        known = ", ".join(f"{scheme}://" for scheme in URL_SCHEMES)
        raise StoreSpecError(shown, f"unknown scheme {parts.scheme!r}; use one of {known}")
    namespace = _check_namespace(shown, unquote(parts.fragment)) if parts.fragment else None
    options = _URL_OPTIONS[kind](shown, parts)
    return StoreConfig(kind, options, namespace)


def _sqlite_options(shown: str, parts: SplitResult) -> dict[str, Any]:
    usage = "write sqlite:///relative/path.db or sqlite:////absolute/path.db"
    if parts.netloc:
        raise StoreSpecError(shown, f"a sqlite URL has no host ({parts.netloc!r}); {usage}")
    if parts.query:
        raise StoreSpecError(shown, f"a sqlite URL takes no query; {usage}")
    path = unquote(parts.path)[1:]  # the third slash ends the empty authority
    if not path:
        raise StoreSpecError(shown, f"no database file named; {usage}")
    return {"path": path}


def _server_url_options(shown: str, parts: SplitResult) -> dict[str, Any]:
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        raise StoreSpecError(shown, "the port is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise StoreSpecError(shown, f"no host named; e.g. {parts.scheme}://localhost/...")
    return {"url": parts._replace(fragment="").geturl()}


def _mongo_options(shown: str, parts: SplitResult) -> dict[str, Any]:
    # Seed lists ("h1:27017,h2:27017") are not one host urlsplit can read: check by hand.
    hosts = parts.netloc.rpartition("@")[2]
    if not hosts:
        raise StoreSpecError(shown, f"no host named; e.g. {parts.scheme}://localhost:27017/kode")
    options: dict[str, Any] = {"url": parts._replace(fragment="").geturl()}
    database = unquote(parts.path.lstrip("/"))
    if database:
        options["database"] = database
    return options


def _memory_options(shown: str, parts: SplitResult) -> dict[str, Any]:
    if parts.netloc or parts.path.strip("/") or parts.query:
        raise StoreSpecError(shown, "a memory URL is just memory:// (with an optional #namespace)")
    return {}


_URL_OPTIONS = {
    "sqlite": _sqlite_options,
    "pg": _server_url_options,
    "mongo": _mongo_options,
    "redis": _server_url_options,
    "memory": _memory_options,
}


def _parse_descriptor(text: str) -> StoreConfig:
    shown = "the JSON descriptor"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreSpecError(
            shown, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise StoreSpecError(shown, f"not a JSON object but {type(value).__name__}")
    extra = sorted(set(value) - _DESCRIPTOR_FIELDS)
    if extra:
        raise StoreSpecError(
            shown, f"unknown field {extra[0]!r}; a descriptor has 'kind' and 'options'"
        )
    kind_name = value.get("kind")
    if not isinstance(kind_name, str) or not kind_name:
        raise StoreSpecError(shown, 'no "kind" string; e.g. {"kind": "sqlite"}')
    kind = KIND_ALIASES.get(kind_name.lower(), kind_name)  # a plugin's own kind passes through
    options = value.get("options") or {}
    if not isinstance(options, dict):
        raise StoreSpecError(shown, f'"options" must be a JSON object, got {options!r}')
    options = dict(options)
    namespace = options.pop("namespace", None)
    if namespace is not None:
        namespace = _check_namespace(shown, namespace)
    return StoreConfig(kind, options, namespace)
