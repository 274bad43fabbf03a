"""The thread and run kits on the memory backend, the executable reference."""

import pytest

from kode_core.testing import RunStoreConformance, StoreFactory, ThreadStoreConformance


class TestMemoryThreadStore(ThreadStoreConformance):
    shared_across_processes = False
    versioned_storage = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")


class TestMemoryRunStore(RunStoreConformance):
    shared_across_processes = False
    versioned_storage = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")
