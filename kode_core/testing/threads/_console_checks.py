"""The console read model's checks, mixed into the thread-store suite."""

from __future__ import annotations

import anyio
import pytest

from ..._errors import InvalidRecordError
from ...runs import RunStore
from ...threads import ThreadStore
from ..runs import samples as sample


class ConsoleChecks:
    """``store.console``: listing with filters before paging, owners, runs, agent names."""

    async def _threads_of(self, threads: ThreadStore, resources: list[str]) -> None:
        for i, resource in enumerate(resources):
            await threads.create_thread(resource, thread_id=f"t{i}")
            await anyio.sleep(0.003)  # distinct update times: newest is the last made

    async def test_list_threads_is_newest_first_and_paged(self, threads: ThreadStore) -> None:
        await self._threads_of(threads, ["u"] * 5)
        console = threads.console
        assert [t.id for t in await console.list_threads()] == ["t4", "t3", "t2", "t1", "t0"]
        assert [t.id for t in await console.list_threads(limit=2, offset=1)] == ["t3", "t2"]
        assert await console.list_threads(offset=5) == []

    async def test_owners_match_the_owner_and_its_colon_children_only(
        self, threads: ThreadStore
    ) -> None:
        await self._threads_of(threads, ["a", "a:1", "a:b:2", "ab", "ab:1", "b", "a;", "A:1"])
        console = threads.console
        assert [t.resource_id for t in await console.list_threads(owners=["a"])] == [
            "a:b:2",
            "a:1",
            "a",
        ]
        found = await console.list_threads(owners=["ab", "b"])
        assert sorted(t.resource_id for t in found) == ["ab", "ab:1", "b"]
        assert await console.list_threads(owners=[]) == []
        assert await console.list_threads(owners=["zz"]) == []

    async def test_owner_filtering_happens_before_paging(self, threads: ThreadStore) -> None:
        await self._threads_of(threads, ["mine", *["other"] * 60, "mine:x"])
        found = await threads.console.list_threads(owners=["mine"], limit=2)
        assert [t.id for t in found] == ["t61", "t0"]
        found = await threads.console.list_threads(owners=["mine"], limit=1, offset=1)
        assert [t.id for t in found] == ["t0"]

    async def test_agent_name_and_resource_filters(
        self, threads: ThreadStore, runs: RunStore
    ) -> None:
        await self._threads_of(threads, ["u1", "u1", "u2"])
        await runs.create_run(sample.run("r0", "t0", agent_name="alpha", resource_id="u1"))
        await runs.create_run(sample.run("r1", "t2", agent_name="alpha", resource_id="u2"))
        await runs.create_run(sample.run("r2", "t2", agent_name="beta", resource_id="u2"))
        console = threads.console
        assert [t.id for t in await console.list_threads(agent_name="alpha")] == ["t2", "t0"]
        assert [t.id for t in await console.list_threads(agent_name="beta")] == ["t2"]
        assert [t.id for t in await console.list_threads(resource_id="u1")] == ["t1", "t0"]
        found = await console.list_threads(agent_name="alpha", owners=["u1"])
        assert [t.id for t in found] == ["t0"]
        assert await console.distinct_agent_names() == ["alpha", "beta"]

    async def test_console_reads_a_thread_its_messages_and_runs(
        self, threads: ThreadStore, runs: RunStore
    ) -> None:
        console = threads.console
        assert await console.get_thread("t0") is None
        await threads.create_thread("u", thread_id="t0")
        await threads.save_messages("t0", [sample.message("m1"), sample.message("m2")])
        await runs.create_run(sample.run("r-old", "t0", ms=1))
        await runs.create_run(sample.run("r-new", "t0", ms=2))
        assert (await console.get_thread("t0")) == await threads.get_thread("t0")
        assert [m.id for m in await console.get_thread_messages("t0")] == ["m1", "m2"]
        assert [r.run_id for r in await console.get_thread_runs("t0")] == ["r-new", "r-old"]
        assert await console.delete_thread("t0") is True
        assert await console.delete_thread("t0") is False
        assert await console.get_thread_runs("t0") == []

    async def test_console_refuses_bad_filters(self, threads: ThreadStore) -> None:
        console = threads.console
        with pytest.raises(InvalidRecordError, match="owners"):
            await console.list_threads(owners="a")
        with pytest.raises(InvalidRecordError, match=r"owners\[1\]"):
            await console.list_threads(owners=["a", ""])
        with pytest.raises(InvalidRecordError, match="limit"):
            await console.list_threads(limit=-1)
        with pytest.raises(InvalidRecordError, match="limit"):
            await console.list_threads(limit=10_001)
