"""Secrets in this process's memory: the executable reference of the secret-store contract."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .._options import BackendOptions
from ..memory import MemoryBackend
from ._options import SecretOptions
from ._records import AuditDraft, AuditEntry, SecretRow
from ._store import SecretStore

#: The memory backend's layout has one version: there is nothing stored to migrate.
SCHEMA_VERSION = 1


@attrs.define
class SecretData:
    """One namespace's rows, key-version salts and audit trail."""

    rows: dict[str, SecretRow] = attrs.Factory(dict)
    salts: dict[int, bytes] = attrs.Factory(dict)
    audit: list[AuditEntry] = attrs.Factory(list)


class MemorySecretStore(SecretStore):
    """Secrets in memory, as opaque rows like every engine's.

    No primitive awaits between reading and writing its data, so each one is
    atomic on the event loop without a lock.
    """

    def __init__(
        self, backend: MemoryBackend, options: BackendOptions, settings: SecretOptions
    ) -> None:
        super().__init__(options, settings)
        self._data: SecretData = backend.namespace_data("secrets", options.namespace, SecretData)

    def __repr__(self) -> str:
        return f"<MemorySecretStore namespace={self.namespace!r}>"

    @property
    def data(self) -> SecretData:
        """The namespace's stored data (the conformance kit reads and tampers with rows)."""
        return self._data

    @property
    def supported_schema_version(self) -> int:
        return SCHEMA_VERSION

    async def _migrate(self) -> None:
        pass  # nothing is stored beyond this process, so there is no schema to keep

    async def _schema_version(self) -> int:
        return SCHEMA_VERSION  # dictionaries are always at the current layout

    async def _salt(self, version: int, candidate: bytes | None) -> bytes | None:
        if candidate is not None:
            return self._data.salts.setdefault(version, candidate)
        return self._data.salts.get(version)

    async def _rows(self, names: Sequence[str]) -> dict[str, SecretRow]:
        return {name: self._data.rows[name] for name in names if name in self._data.rows}

    async def _exists(self, name: str) -> bool:
        return name in self._data.rows

    async def _put(self, row: SecretRow, audit: AuditDraft | None) -> None:
        stored = self._data.rows.get(row.name)
        if stored is not None:
            row = attrs.evolve(row, created_at=stored.created_at)
        self._data.rows[row.name] = row
        self._audit(audit)

    async def _remove(self, name: str, audit: AuditDraft | None) -> bool:
        if self._data.rows.pop(name, None) is None:
            return False
        self._audit(audit)
        return True

    async def _count_stale(self, version: int) -> int:
        return sum(row.key_version < version for row in self._data.rows.values())

    async def _stale(self, version: int, after: str | None, limit: int) -> list[SecretRow]:
        names = sorted(
            name
            for name, row in self._data.rows.items()
            if row.key_version < version and (after is None or name > after)
        )
        return [self._data.rows[name] for name in names[:limit]]

    async def _rewrap(self, old: SecretRow, new: SecretRow, audit: AuditDraft | None) -> bool:
        stored = self._data.rows.get(old.name)
        if (
            stored is None
            or stored.key_version != old.key_version
            or stored.wrapped_key != old.wrapped_key
        ):
            return False
        self._data.rows[old.name] = attrs.evolve(
            stored,
            wrapped_key=new.wrapped_key,
            key_version=new.key_version,
            updated_at=new.updated_at,
        )
        self._audit(audit)
        return True

    async def _append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        for draft in drafts:
            self._audit(draft)

    async def _audit_entries(self, name: str | None, limit: int) -> list[AuditEntry]:
        found = [e for e in reversed(self._data.audit) if name is None or e.secret_key == name]
        return found[:limit]

    def _audit(self, draft: AuditDraft | None) -> None:
        if draft is not None:
            self._data.audit.append(AuditEntry.of(len(self._data.audit) + 1, draft))
