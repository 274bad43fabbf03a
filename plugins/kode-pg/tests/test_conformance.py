"""The session-store conformance kit against a real PostgreSQL server."""

import pytest

from kode_core.testing import SessionStoreConformance, StoreFactory


class TestPgSessionStore(SessionStoreConformance):
    @pytest.fixture
    def store_factory(self, pg_url: str) -> StoreFactory:
        return StoreFactory("pg", {"url": pg_url}, ("kode_pg._plugin",))
