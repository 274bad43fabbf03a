"""kode's agent-store conformance kit against a real MongoDB-wire server."""

from __future__ import annotations

import pytest

from kode_core.testing import AgentStoreConformance, StoreFactory


class TestMongoAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, mongo_factory: StoreFactory) -> StoreFactory:
        return mongo_factory
