"""The agent-store conformance kit against the in-process memory backend."""

import pickle
from typing import ClassVar

import pytest

from kode_core.agents import ExtendedAgentStore
from kode_core.testing import AgentStoreConformance, StoreFactory
from kode_core.testing.agents import EngineDump


async def _dump(store: ExtendedAgentStore) -> bytes:
    # The memory store's whole state: the namespace's dictionaries, as bytes.
    return pickle.dumps(store._data)  # type: ignore[attr-defined]


class TestMemoryAgentStore(AgentStoreConformance):
    shared_across_processes: ClassVar[bool] = False
    versioned_storage: ClassVar[bool] = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory")

    @pytest.fixture
    def engine_dump(self) -> EngineDump:
        return _dump
