"""Conformance checks of what operators use: project listing, schema and driver versions.

Mixed into :class:`~kode_core.testing.SessionStoreConformance`, so every backend runs them.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine
from typing import Any, ClassVar

import pytest

from ..._builders import BuilderMap
from ..._errors import InvalidRecordError, SchemaVersionError
from ...sessions import SessionStore
from .._factory import StoreFactory, unique_namespace


async def _projects_page_by_page(store: SessionStore, limit: int) -> list[str]:
    projects: list[str] = []
    after: str | None = None
    while True:
        page = await store.list_projects_page(after=after, limit=limit)
        assert len(page.projects) <= limit
        projects += page.projects
        if page.next_after is None:
            return projects
        after = page.next_after


@pytest.mark.anyio
class SessionStoreOperatorChecks:
    """Project listing, recorded schema version and driver version, on every backend."""

    versioned_storage: ClassVar[bool] = True

    async def test_projects_are_listed_in_pages_in_code_point_order(
        self, store: SessionStore
    ) -> None:
        projects = ["B", "a", "é", "10", "9", "(a", "p:q", "{x}", "%25", "\U0001f680", "\uffff"]
        for project in projects:
            for session in ("s1", "s2"):
                key = {"project_key": project, "session_id": session}
                await store.append(key, [{"type": "t"}])
        # A project that has only a subagent transcript has no session to list.
        only_sub = {"project_key": "only-sub", "session_id": "s", "subpath": "sub/a"}
        await store.append(only_sub, [{"type": "t"}])
        assert await _projects_page_by_page(store, limit=3) == sorted(projects)
        assert (await store.list_projects_page(after="a", limit=100)).projects == sorted(
            p for p in projects if p > "a"
        )
        assert (await store.list_projects_page(limit=0)).projects == []

    async def test_deleting_a_projects_last_session_unlists_the_project(
        self, store: SessionStore
    ) -> None:
        await store.append({"project_key": "gone", "session_id": "s"}, [{"type": "t"}])
        await store.append({"project_key": "kept", "session_id": "s"}, [{"type": "t"}])
        await store.delete({"project_key": "gone", "session_id": "s"})
        assert (await store.list_projects_page()).projects == ["kept"]

    async def test_schema_version_is_read_without_creating_anything(
        self, store_factory: StoreFactory
    ) -> None:
        descriptor = store_factory.descriptor(unique_namespace())
        async with store_factory.open(auto_migrate=False) as app:
            store = app.build(descriptor)
            supported = store.supported_schema_version
            assert supported >= 1
            if self.versioned_storage:
                assert await store.schema_version() == 0
                with pytest.raises(SchemaVersionError):  # still nothing there
                    await store.count_entries({"project_key": "p", "session_id": "s"})
            await store.migrate()
            assert await store.schema_version() == supported

    async def test_the_backend_names_its_driver_and_version(
        self, stores: BuilderMap[SessionStore], store: SessionStore
    ) -> None:
        await store.count_entries({"project_key": "p", "session_id": "s"})
        [backend] = stores.open_backends
        assert re.search(r"\d+\.\d+", backend.driver_version), backend.driver_version

    @pytest.mark.parametrize("bad", [-1, True, 1.5, "10", 2**63])
    async def test_paging_arguments_are_refused_naming_them(
        self, store: SessionStore, bad: object
    ) -> None:
        key = {"project_key": "p", "session_id": "s"}
        await store.append(key, [{"type": "t"}])
        calls: dict[str, list[Coroutine[Any, Any, object]]] = {
            "limit": [
                store.list_projects_page(limit=bad),  # type: ignore[arg-type]
                store.load_page(key, limit=bad),  # type: ignore[arg-type]
                store.list_sessions_page("p", limit=bad),  # type: ignore[arg-type]
            ],
            "after": [store.load_page(key, after=bad)],  # type: ignore[arg-type]
            "count": [store.load_tail(key, bad)],  # type: ignore[arg-type]
        }
        for name, coroutines in calls.items():
            for coroutine in coroutines:
                with pytest.raises(InvalidRecordError, match=name) as caught:
                    await coroutine
                assert caught.value.field == name
        assert await store.load(key) == [{"type": "t"}]
