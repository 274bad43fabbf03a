from pathlib import Path

import pytest

from kode_core.testing import (
    ChannelStoreConformance,
    DeploymentStoreConformance,
    StoreFactory,
)

ROOT = Path(__file__).resolve().parents[1]


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
