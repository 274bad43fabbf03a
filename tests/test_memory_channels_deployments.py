import pytest

from kode_core.testing import ChannelStoreConformance, DeploymentStoreConformance, StoreFactory


class TestMemoryChannelStore(ChannelStoreConformance):
    shared_across_processes = False
    versioned_storage = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")


class TestMemoryDeploymentStore(DeploymentStoreConformance):
    shared_across_processes = False
    versioned_storage = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")
