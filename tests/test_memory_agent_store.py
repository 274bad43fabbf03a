"""The agent-store conformance kit against the in-process memory backend."""

from typing import ClassVar

import pytest

from kode_core.testing import AgentStoreConformance, StoreFactory


class TestMemoryAgentStore(AgentStoreConformance):
    shared_across_processes: ClassVar[bool] = False
    versioned_storage: ClassVar[bool] = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")
