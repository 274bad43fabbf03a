"""The engine-wide checks of the kit against the in-process memory backend."""

from typing import ClassVar

import pytest

from kode_core.testing import EngineConformance, StoreFactory


class TestMemoryEngine(EngineConformance):
    shared_across_processes: ClassVar[bool] = False
    versioned_storage: ClassVar[bool] = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")
