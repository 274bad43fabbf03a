"""The kode session-store contract against a real Redis server."""

from __future__ import annotations

import pytest

from kode_core.testing import SessionStoreConformance, StoreFactory
from kode_core.testing._servers import TestServer


class TestRedisSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, shared_server: TestServer) -> StoreFactory:
        return StoreFactory("redis", {"url": shared_server.url}, ("kode_redis._plugin",))
