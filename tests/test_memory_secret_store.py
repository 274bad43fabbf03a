"""The secret-store conformance kit on the memory backend, the contract's reference."""

from typing import ClassVar

import pytest

from kode_core.testing import MemoryRawSecretRows, SecretStoreConformance, StoreFactory


class TestMemorySecretStore(SecretStoreConformance):
    shared_across_processes: ClassVar[bool] = False
    versioned_storage: ClassVar[bool] = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")

    @pytest.fixture
    def raw_secret_rows(self) -> MemoryRawSecretRows:
        return MemoryRawSecretRows()
