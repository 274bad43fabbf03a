"""Schema versions of the ``redis`` backend, whatever the service family.

Every key of a namespace starts with ``kode:<namespace>:``. The hash
``kode:<namespace>:meta`` records, one field per component (service family), the
layout version that family applied: ``schema_version`` for sessions (its name
since 0.1), ``<family>_schema_version`` for every other family
(``agents_schema_version``...), so each family migrates on its own.

Key parts that come from callers (project key, session id, agent id...) are
escaped so that ``:``, ``{`` and ``}`` never occur inside them: ``%`` -> ``%25``,
``:`` -> ``%3A``, ``{`` -> ``%7B``, ``}`` -> ``%7D``. The escape is injective, so two
different parts never share a Redis key, and ``:`` stays an unambiguous separator.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Literal

from redis.asyncio import Redis

from kode_core import BackendError
from kode_core.backend import SchemaComponent, schema_action

#: One migration step: ``step(client, namespace)`` takes the family's keys of the
#: namespace one version up. Steps must be idempotent: concurrent first users may
#: both run one before either records the version.
RedisMigration = Callable[[Redis, str], Awaitable[None]]
#: A service family's key layout: its name, its version and its migrations. Version 1
#: of a layout needs no step (keys are created by the writes), so it lists none.
RedisSchema = SchemaComponent[RedisMigration]

#: Raise the recorded version to ARGV[2] unless it is higher already; return the
#: version recorded afterwards, or -1 when the field holds something unreadable
#: (then nothing is written). KEYS: meta. ARGV: field, version.
_RECORD_LUA = """
local found = redis.call('HGET', KEYS[1], ARGV[1])
if found and not string.match(found, '^%d+$') then return -1 end
local version = tonumber(ARGV[2])
if found and tonumber(found) >= version then return tonumber(found) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return version
"""

_ESCAPES = str.maketrans({"%": "%25", ":": "%3A", "{": "%7B", "}": "%7D"})
_UNESCAPES = {"%25": "%", "%3A": ":", "%7B": "{", "%7D": "}"}
_ESCAPED = re.compile("|".join(_UNESCAPES))


def escape(part: str) -> str:
    """A caller-supplied key part made safe to embed between ``:`` separators."""
    return part.translate(_ESCAPES)


def unescape(part: str) -> str:
    """The key part :func:`escape` made ``part`` from."""
    return _ESCAPED.sub(lambda match: _UNESCAPES[match.group()], part)


def meta_key(namespace: str) -> str:
    """The namespace's metadata hash, which records each component's version."""
    return f"kode:{namespace}:meta"


def version_field(component: RedisSchema) -> str:
    """The field of :func:`meta_key` that records ``component``'s version."""
    # The session layout came first and kept 0.1's field name.
    return "schema_version" if component.name == "sessions" else f"{component.name}_schema_version"


async def ensure_schema(
    client: Redis, namespace: str, component: RedisSchema, *, auto_migrate: bool, where: str
) -> None:
    """Check ``component``'s version in the namespace; record or migrate it if allowed.

    The fast path is one ``HGET``. Migration runs the steps from the recorded version
    up and then raises the recorded version in one script (never lowering it), so
    concurrent first users in any process agree and a newer version written meanwhile
    is refused as if found first. Raises :class:`~kode_core.SchemaVersionError` (see
    :func:`~kode_core.backend.schema_action`; nothing is written then), or
    :class:`~kode_core.BackendError` if the field holds something unreadable.
    """
    meta, field = meta_key(namespace), version_field(component)
    found = await client.hget(meta, field)
    if found is not None and not _text(found).isdigit():
        raise BackendError("redis", f"{meta} holds an unreadable {field} {_text(found)!r}")
    version = 0 if found is None else int(_text(found))
    if _action(version, component, auto_migrate=auto_migrate, where=where) == "current":
        return
    for step_version in range(version + 1, component.version + 1):
        step = component.migrations.get(step_version)
        if step is not None:
            await step(client, namespace)
    recorded = int(await client.eval(_RECORD_LUA, 1, meta, field, component.version))
    if recorded < 0:
        raise BackendError("redis", f"{meta} holds an unreadable {field}")
    _action(recorded, component, auto_migrate=False, where=where)


async def stored_version(client: Redis, namespace: str, component: RedisSchema) -> int:
    """The recorded version of ``component`` (0: none). Writes nothing."""
    found = await client.hget(meta_key(namespace), version_field(component))
    if found is None:
        return 0
    text = _text(found)
    # An unreadable value counts as newer than this code: it is not one we wrote.
    return int(text) if text.isdigit() else component.version + 1


def _action(
    found: int, component: RedisSchema, *, auto_migrate: bool, where: str
) -> Literal["current", "migrate"]:
    return schema_action("redis", found, component, auto_migrate=auto_migrate, where=where)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
