"""The raw-row hook: how the kit reads, overwrites and dumps what an engine stores.

Tamper tests need the stored bytes as the engine holds them, past the store's own
code. Each backend's test module provides a :class:`RawSecretRows` for its engine
(the ``raw_secret_rows`` fixture of :class:`~kode_core.testing.SecretStoreConformance`);
kode's plugins ship theirs beside their secret store (``kode_sqlite._secrets.raw``...).
"""

from __future__ import annotations

import pickle
from typing import Protocol

import attrs

from ...secrets import MemorySecretStore, SecretRow, SecretStore


class RawSecretRows(Protocol):
    """Engine-level access to one store's stored secret rows, for tests only."""

    async def read(self, store: SecretStore, name: str) -> SecretRow | None:
        """The row stored for ``name`` in ``store``'s namespace, read from the engine."""

    async def write(self, store: SecretStore, row: SecretRow) -> None:
        """Overwrite (or create) the stored row ``row.name`` with ``row``'s fields as given."""

    async def dump(self, store: SecretStore) -> bytes:
        """Every byte the engine holds for ``store``'s namespace, in the engine's own form."""


class MemoryRawSecretRows:
    """The memory backend's rows: the namespace's dictionaries."""

    async def read(self, store: SecretStore, name: str) -> SecretRow | None:
        return _memory(store).data.rows.get(name)

    async def write(self, store: SecretStore, row: SecretRow) -> None:
        _memory(store).data.rows[row.name] = attrs.evolve(row)

    async def dump(self, store: SecretStore) -> bytes:
        return pickle.dumps(_memory(store).data)


def _memory(store: SecretStore) -> MemorySecretStore:
    assert isinstance(store, MemorySecretStore), f"not a memory store: {store!r}"
    return store
