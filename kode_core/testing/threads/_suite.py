"""The thread-store conformance suite: subclass it and provide ``store_factory``::

class TestSqliteThreadStore(ThreadStoreConformance):
    @pytest.fixture
    def store_factory(self, tmp_path):
        return StoreFactory("sqlite", {"path": str(tmp_path / "kode.db")}, ("kode_sqlite",))
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from ..._builders import BackendPool
from ..._errors import ConflictError, InvalidRecordError, NotFoundError
from ...runs import RunScore, RunStore
from ...threads import AgentMessage, Thread, ThreadStore
from .._factory import StoreFactory, unique_namespace
from .._suite_base import ConformanceSuite
from ..agents._processes import start, wait_for_file
from ..runs import samples as sample
from ._console_checks import ConsoleChecks
from ._processes import append_messages

#: The paging acceptance: this many messages, a block of them sharing one timestamp.
LONG_THREAD = 10_000
SAME_TIME = 1_000
PAGE = 50


@pytest.mark.anyio
class ThreadStoreConformance(ConsoleChecks, ConformanceSuite):
    """Threads, ordered and idempotent messages, working memory, cascades, the console."""

    @pytest.fixture
    async def pool(self, store_factory: StoreFactory) -> AsyncIterator[BackendPool]:
        defaults = {**store_factory.defaults, "max_entry_bytes": 65_536}
        async with BackendPool(
            {store_factory.kind: defaults}, registry=store_factory.registry()
        ) as pool:
            yield pool

    @pytest.fixture
    def namespace(self) -> str:
        return unique_namespace("h")

    @pytest.fixture
    def threads(
        self, pool: BackendPool, store_factory: StoreFactory, namespace: str
    ) -> ThreadStore:
        store = pool.build("threads", store_factory.descriptor(namespace))
        assert isinstance(store, ThreadStore)
        return store

    @pytest.fixture
    def runs(self, pool: BackendPool, store_factory: StoreFactory, namespace: str) -> RunStore:
        store = pool.build("runs", store_factory.descriptor(namespace))
        assert isinstance(store, RunStore)
        return store

    # -- threads ----------------------------------------------------------------------

    async def test_a_thread_round_trips_and_its_id_is_unique(self, threads: ThreadStore) -> None:
        made = await threads.create_thread(
            "user-1", thread_id="t1", title="Trip ✈", metadata={"tags": ["a"], "n": 1.5}
        )
        assert await threads.get_thread("t1") == made
        assert made.title == "Trip ✈"
        assert made.metadata == {"tags": ["a"], "n": 1.5}
        with pytest.raises(ConflictError):
            await threads.create_thread("user-2", thread_id="t1")
        assert (await threads.get_thread("t1")).resource_id == "user-1"
        fresh = await threads.create_thread("user-1")
        assert fresh.id
        assert fresh.id != "t1"

    async def test_get_thread_raises_not_found(self, threads: ThreadStore) -> None:
        with pytest.raises(NotFoundError):
            await threads.get_thread("missing")

    async def test_get_threads_lists_a_resources_threads_newest_update_first(
        self, threads: ThreadStore
    ) -> None:
        for name in ("t1", "t2", "t3"):
            await threads.create_thread("user-1", thread_id=name)
            await anyio.sleep(0.005)
        await threads.create_thread("user-2", thread_id="other")
        await threads.save_messages("t1", [sample.message("m1")])
        assert [t.id for t in await threads.get_threads("user-1")] == ["t1", "t3", "t2"]
        assert await threads.get_threads("nobody") == []

    # -- messages ---------------------------------------------------------------------

    async def test_every_message_field_round_trips(self, threads: ThreadStore) -> None:
        await threads.create_thread("user-1", thread_id="t1")
        await threads.save_messages("t1", [sample.EVERY_FIELD_MESSAGE])
        [loaded] = await threads.get_messages("t1")
        assert loaded.to_dict() == AgentMessage.from_dict(sample.EVERY_FIELD_MESSAGE).to_dict()
        assert loaded.reasoning_content
        assert loaded.interrupted is True
        assert loaded.undelivered is False
        assert loaded.tool_results
        assert loaded.tool_results[0].error == "timed out"

    async def test_messages_keep_their_saved_order_whatever_their_timestamps(
        self, threads: ThreadStore
    ) -> None:
        await threads.create_thread("user-1", thread_id="t1")
        batch = [sample.message(f"m{i}", ms=(5 - i) * 1000) for i in range(5)]
        await threads.save_messages("t1", batch[:2])
        await threads.save_messages("t1", batch[2:])
        ids = [m.id for m in await threads.get_messages("t1")]
        assert ids == [f"m{i}" for i in range(5)]

    async def test_saving_an_existing_message_id_is_a_no_op(self, threads: ThreadStore) -> None:
        await threads.create_thread("user-1", thread_id="t1")
        await threads.save_messages("t1", [sample.message("m1", content="first")])
        await threads.save_messages(
            "t1",
            [
                sample.message("m1", content="changed"),
                sample.message("m2"),
                sample.message("m2", content="repeat in batch"),
            ],
        )
        loaded = await threads.get_messages("t1")
        assert [(m.id, m.content) for m in loaded] == [("m1", "first"), ("m2", "hello")]

    async def test_last_n_and_before_page_back(self, threads: ThreadStore) -> None:
        await threads.create_thread("user-1", thread_id="t1")
        await threads.save_messages("t1", [sample.message(f"m{i}") for i in range(10)])

        async def ids(**kwargs: Any) -> list[str]:
            return [m.id for m in await threads.get_messages("t1", **kwargs)]

        assert await ids(last_n=3) == ["m7", "m8", "m9"]
        assert await ids(last_n=3, before="m7") == ["m4", "m5", "m6"]
        assert await ids(before="m2") == ["m0", "m1"]
        assert await ids(last_n=5, before="m0") == []
        assert await ids(last_n=0) == []
        assert await ids(last_n=100) == [f"m{i}" for i in range(10)]
        with pytest.raises(NotFoundError):
            await threads.get_messages("t1", before="not-here")
        assert await threads.get_messages("no-thread") == []

    async def test_a_long_thread_with_equal_timestamps_pages_back_without_gaps(
        self, threads: ThreadStore
    ) -> None:
        await threads.create_thread("user-1", thread_id="long")
        expected = [f"m{i:05d}" for i in range(LONG_THREAD)]
        with anyio.fail_after(180):
            for start in range(0, LONG_THREAD, 1000):
                batch = [
                    {"id": expected[i], "role": "user", "content": "x", "created_at": _time(i)}
                    for i in range(start, start + 1000)
                ]
                await threads.save_messages("long", batch)
            seen: list[str] = []
            before = None
            while True:
                page = await threads.get_messages("long", last_n=PAGE, before=before)
                if not page:
                    break
                assert len(page) == PAGE
                seen[:0] = [m.id for m in page]
                before = page[0].id
        assert seen == expected

    async def test_concurrent_savers_lose_no_message(self, threads: ThreadStore) -> None:
        await threads.create_thread("user-1", thread_id="t1")

        async def save(writer: int) -> None:
            for i in range(10):
                await threads.save_messages("t1", [sample.message(f"w{writer}-{i}")])

        async with anyio.create_task_group() as group:
            for writer in range(4):
                group.start_soon(save, writer)
        ids = [m.id for m in await threads.get_messages("t1")]
        assert sorted(ids) == sorted(f"w{w}-{i}" for w in range(4) for i in range(10))
        for writer in range(4):  # each writer's messages in its own order
            own = [i for i in ids if i.startswith(f"w{writer}-")]
            assert own == [f"w{writer}-{i}" for i in range(10)]

    async def test_appenders_in_two_processes_lose_and_reorder_nothing(
        self, threads: ThreadStore, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        await threads.create_thread("user-1", thread_id="shared")
        signals = tmp_path / "signals"
        signals.mkdir()
        writers = [f"p{i}" for i in range(2)]
        workers = [
            start(append_messages, store_factory, namespace, "shared", w, 3, 20, str(signals))
            for w in writers
        ]
        try:
            for writer in writers:
                await wait_for_file(signals / f"ready-{writer}")
            (signals / "go").touch()
            for writer in writers:
                await wait_for_file(signals / f"done-{writer}", within=120)
        finally:
            for worker in workers:
                worker.join(timeout=30)
                if worker.is_alive():
                    worker.kill()
        assert [w.exitcode for w in workers] == [0, 0]
        ids = [m.id for m in await threads.get_messages("shared")]
        assert len(ids) == len(set(ids)) == 2 * 3 * 20
        for writer in writers:
            for task in range(3):
                own = [i for i in ids if i.startswith(f"{writer}.{task}-")]
                assert own == [f"{writer}.{task}-{n}" for n in range(20)]

    async def test_saving_to_a_missing_thread_raises_not_found(self, threads: ThreadStore) -> None:
        with pytest.raises(NotFoundError):
            await threads.save_messages("missing", [sample.message("m1")])

    # -- working memory ---------------------------------------------------------------

    async def test_working_memory_is_replaced_per_scope(self, threads: ThreadStore) -> None:
        assert await threads.get_working_memory("x", "thread") is None
        await threads.save_working_memory("x", "thread", {"a": 1})
        await threads.save_working_memory("x", "resource", {"b": [True]})
        await threads.save_working_memory("x", "thread", {"c": None})
        assert await threads.get_working_memory("x", "thread") == {"c": None}
        assert await threads.get_working_memory("x", "resource") == {"b": [True]}

    async def test_list_working_memory_lists_every_scope_and_id(self, threads: ThreadStore) -> None:
        await threads.save_working_memory("t1", "thread", {"a": 1})
        await threads.save_working_memory("u1", "resource", {"b": 2})
        found = await threads.list_working_memory()
        assert [(scope.value, id, data) for scope, id, data in found] == [
            ("resource", "u1", {"b": 2}),
            ("thread", "t1", {"a": 1}),
        ]

    # -- import -----------------------------------------------------------------------

    async def test_import_thread_keeps_times_and_adds_only_missing_messages(
        self, threads: ThreadStore
    ) -> None:
        thread = {
            "id": "t1",
            "resource_id": "u",
            "title": "old",
            "created_at": sample.at(0),
            "updated_at": sample.at(5000),
        }
        first = [sample.message("m1"), sample.message("m2")]
        assert await threads.import_thread(thread, first) is True
        stored = await threads.get_thread("t1")
        assert stored.to_dict() == Thread.from_dict(thread).to_dict()
        again = [*first, sample.message("m3")]
        assert await threads.import_thread({**thread, "title": "new"}, again) is False
        assert [m.id for m in await threads.get_messages("t1")] == ["m1", "m2", "m3"]
        assert await threads.get_thread("t1") == stored

    # -- cascade ----------------------------------------------------------------------

    async def test_delete_thread_takes_messages_memory_runs_and_scores(
        self, threads: ThreadStore, runs: RunStore
    ) -> None:
        for name in ("t1", "t2"):
            await threads.create_thread("user-1", thread_id=name)
            await threads.save_messages(name, [sample.message(f"{name}-m")])
            await threads.save_working_memory(name, "thread", {"k": name})
            run = sample.suspended_run(f"{name}-r", name, [sample.tool_approval(f"{name}-c")])
            await runs.create_run(run)
            await runs.save_score(RunScore(run_id=f"{name}-r", scorer_name="s", score=1))
        await threads.save_working_memory("user-1", "resource", {"kept": True})
        assert await threads.delete_thread("t1") is True
        assert await threads.delete_thread("t1") is False
        with pytest.raises(NotFoundError):
            await threads.get_thread("t1")
        assert await threads.get_messages("t1") == []
        assert await threads.get_working_memory("t1", "thread") is None
        assert await runs.get_run("t1-r") is None
        assert await runs.get_runs_by_thread("t1") == []
        assert await runs.find_run_by_tool_call_id("t1-c") is None
        assert await runs.get_scores("t1-r") == []
        # the other thread and the resource's memory are untouched
        assert len(await threads.get_messages("t2")) == 1
        assert (await runs.find_run_by_tool_call_id("t2-c")) is not None
        assert len(await runs.get_scores("t2-r")) == 1
        assert await threads.get_working_memory("user-1", "resource") == {"kept": True}
        await threads.create_thread("user-1", thread_id="t1")  # the id is free again
        assert await threads.get_messages("t1") == []

    # -- bad input --------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("bad", "field"),
        [
            ({"role": "robot"}, "messages[1].role"),
            ({"content": [{"type": "video", "url": "u"}]}, "messages[1].content[0].type"),
            ({"tool_calls": [{"id": "c", "name": "n", "args": {1, 2}}]}, "messages[1]"),
            ({"tool_results": [{"id": "c", "name": "n", "result": math.inf}]}, "messages[1]"),
            ({"content": "x" * 70_000}, "messages[1]"),
            ({"id": ""}, "messages[1].id"),
            ({"interrupted": "yes"}, "messages[1].interrupted"),
        ],
    )
    async def test_a_bad_message_is_refused_before_any_write(
        self, threads: ThreadStore, bad: dict[str, Any], field: str
    ) -> None:
        await threads.create_thread("user-1", thread_id="t1")
        before = await threads.get_thread("t1")
        with pytest.raises(InvalidRecordError, match=field.replace(".", r"\.").replace("[", r"\[")):
            await threads.save_messages(
                "t1", [sample.message("ok"), {**sample.message("b"), **bad}]
            )
        assert await threads.get_messages("t1") == []
        assert await threads.get_thread("t1") == before

    async def test_bad_threads_memory_and_arguments_are_refused(self, threads: ThreadStore) -> None:
        with pytest.raises(InvalidRecordError, match="metadata"):
            await threads.create_thread("user-1", thread_id="t1", metadata={"x": object()})
        with pytest.raises(InvalidRecordError, match="resource_id"):
            await threads.create_thread("", thread_id="t1")
        with pytest.raises(NotFoundError):
            await threads.get_thread("t1")
        with pytest.raises(InvalidRecordError, match="scope"):
            await threads.save_working_memory("x", "global", {"a": 1})
        with pytest.raises(InvalidRecordError, match="data"):
            await threads.save_working_memory("x", "thread", {"a": math.nan})
        with pytest.raises(InvalidRecordError, match="data"):
            await threads.save_working_memory("x", "thread", {"a": "x" * 70_000})
        assert await threads.get_working_memory("x", "thread") is None
        with pytest.raises(InvalidRecordError, match="last_n"):
            await threads.get_messages("t1", last_n=-1)
        with pytest.raises(InvalidRecordError, match="messages"):
            await threads.save_messages("t1", {"id": "m"})  # type: ignore[arg-type]


def _time(i: int) -> str:
    """Message ``i``'s time: one per millisecond, but 3000..3999 all at one instant."""
    ms = 3_000 if SAME_TIME * 3 <= i < SAME_TIME * 4 else i
    return sample.at(ms)
