"""Shared fixtures: one real Redis server for the session, plugins loaded explicitly."""

from __future__ import annotations

import os

os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from collections.abc import Iterator

import pytest

from kode_core.testing._servers import TestServer, redis_server


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # redis.asyncio runs on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def shared_server() -> Iterator[TestServer]:
    """The Redis server shared by the tests that do not stop it."""
    with redis_server() as server:
        yield server
