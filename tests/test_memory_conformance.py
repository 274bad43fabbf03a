import pytest

from kode_core.testing import SessionStoreConformance, StoreFactory


class TestMemorySessionStore(SessionStoreConformance):
    shared_across_processes = False
    versioned_storage = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")
