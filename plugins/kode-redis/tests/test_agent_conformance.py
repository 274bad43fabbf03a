"""The kode agent-store contract against a real Redis server."""

from __future__ import annotations

import pytest

from kode_core.testing import AgentStoreConformance, StoreFactory
from kode_core.testing._servers import TestServer


class TestRedisAgentStore(AgentStoreConformance):
    @pytest.fixture
    def store_factory(self, shared_server: TestServer) -> StoreFactory:
        return StoreFactory("redis", {"url": shared_server.url}, ("kode_redis._plugin",))
