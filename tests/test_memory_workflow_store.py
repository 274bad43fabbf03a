"""The workflow-store conformance kit against the in-process memory backend."""

from typing import ClassVar

import pytest

from kode_core.testing import StoreFactory, WorkflowStoreConformance


class TestMemoryWorkflowStore(WorkflowStoreConformance):
    shared_across_processes: ClassVar[bool] = False
    versioned_storage: ClassVar[bool] = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")
