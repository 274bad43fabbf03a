"""Secrets in Redis: a hash of opaque rows, a Lua script per write, an audit list."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kode_core.secrets import (
    AuditAction,
    AuditDraft,
    AuditEntry,
    SecretOptions,
    SecretRow,
    SecretStore,
)

from .._backend import RedisBackend
from .._options import RedisOptions
from .schema import SECRETS, SecretKeys, parse_row, row_text
from .scripts import SecretScripts

if TYPE_CHECKING:
    from redis.asyncio import Redis


def _entry_tail(draft: AuditDraft | None) -> str:
    """The entry's JSON array without ``[`` and its id: the script puts those in front."""
    if draft is None:
        return ""
    body = [draft.secret_key, draft.action.value, draft.performed_at, draft.actor]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))[1:]


class RedisSecretStore(SecretStore):
    """Secrets in one namespace of a Redis server.

    Each write, delete and re-wrap is one Lua script with its audit entry, which
    Redis runs atomically. A rotation's re-wrap applies only if the stored row text
    is still the one read (compare-and-set in the engine), so of two rotating
    instances exactly one re-wraps each row.
    """

    def __init__(
        self, backend: RedisBackend, options: RedisOptions, settings: SecretOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, SECRETS)
        self.keys = SecretKeys.for_namespace(options.namespace)

    def __repr__(self) -> str:
        return f"<RedisSecretStore namespace={self.namespace!r} backend={self._backend!r}>"

    async def client(self) -> Redis:
        """The shared client, once this namespace's layout version is checked."""
        return await self._backend.client(self.namespace, SECRETS)

    async def _scripts(self) -> SecretScripts:
        await self.client()
        return self._backend.scripts(SecretScripts.register)

    def _script_keys(self, name: str) -> list[str]:
        k = self.keys
        return [k.rows, k.created, k.versions, k.audit_seq, k.audit, k.audit_of(name)]

    async def _salt(self, version: int, candidate: bytes | None) -> bytes | None:
        client = await self.client()
        with self._backend.errors():
            if candidate is not None:
                encoded = base64.b64encode(candidate).decode("ascii")
                await client.hsetnx(self.keys.salts, str(version), encoded)
            stored = await client.hget(self.keys.salts, str(version))
        return base64.b64decode(stored) if stored else None

    async def _rows(self, names: Sequence[str]) -> dict[str, SecretRow]:
        client = await self.client()
        with self._backend.errors():
            async with client.pipeline(transaction=True) as pipe:
                pipe.hmget(self.keys.rows, list(names))
                pipe.hmget(self.keys.created, list(names))
                texts, created = await pipe.execute()
        return {
            name: parse_row(name, text, made)
            for name, text, made in zip(names, texts, created, strict=True)
            if text is not None
        }

    async def _exists(self, name: str) -> bool:
        client = await self.client()
        with self._backend.errors():
            return bool(await client.hexists(self.keys.rows, name))

    async def _put(self, row: SecretRow, audit: AuditDraft | None) -> None:
        scripts = await self._scripts()
        args: list[str | int] = [
            row.name,
            row_text(row),
            row.created_at,
            row.key_version,
            _entry_tail(audit),
        ]
        with self._backend.errors():
            await scripts.put(keys=self._script_keys(row.name), args=args)

    async def _remove(self, name: str, audit: AuditDraft | None) -> bool:
        scripts = await self._scripts()
        with self._backend.errors():
            done = await scripts.delete(
                keys=self._script_keys(name), args=[name, _entry_tail(audit)]
            )
        return bool(int(done))

    async def _count_stale(self, version: int) -> int:
        client = await self.client()
        with self._backend.errors():
            return int(await client.zcount(self.keys.versions, "-inf", f"({version}"))

    async def _stale(self, version: int, after: str | None, limit: int) -> list[SecretRow]:
        # The versions index gives every stale name at once; names order in Python (a
        # rotation's pages re-read it, which is fine at the scale of a secret store).
        client = await self.client()
        with self._backend.errors():
            stale = await client.zrangebyscore(self.keys.versions, "-inf", f"({version}")
        names = sorted(str(n) for n in stale if after is None or str(n) > after)[:limit]
        rows = await self._rows(names) if names else {}
        # A rival may have re-wrapped a row between the two reads: its row is current.
        return [rows[n] for n in names if n in rows and rows[n].key_version < version]

    async def _rewrap(self, old: SecretRow, new: SecretRow, audit: AuditDraft | None) -> bool:
        scripts = await self._scripts()
        args: list[str | int] = [
            old.name,
            row_text(old),
            row_text(new),
            new.key_version,
            _entry_tail(audit),
        ]
        with self._backend.errors():
            done = await scripts.rewrap(keys=self._script_keys(old.name), args=args)
        return bool(int(done))

    async def _append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        scripts = await self._scripts()
        k = self.keys
        keys = [k.rows, k.created, k.versions, k.audit_seq, k.audit]
        keys += [k.audit_of(draft.secret_key) for draft in drafts]
        with self._backend.errors():
            await scripts.audit(keys=keys, args=[_entry_tail(draft) for draft in drafts])

    async def _audit_entries(self, name: str | None, limit: int) -> list[AuditEntry]:
        client = await self.client()
        source = self.keys.audit if name is None else self.keys.audit_of(name)
        with self._backend.errors():
            texts = await client.lrange(source, 0, limit - 1)
        entries = []
        for text in texts:
            id, key, action, at, actor = json.loads(text)
            entries.append(AuditEntry(id, key, AuditAction(action), at, actor))
        return entries
