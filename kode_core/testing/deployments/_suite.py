"""The deployment conformance suite: subclass it and provide ``store_factory``::

    class TestSqliteDeploymentStore(DeploymentStoreConformance):
        @pytest.fixture
        def store_factory(self, sqlite_factory):
            return sqlite_factory

The suite opens the stores with a short heartbeat TTL (:data:`TTL` seconds), so the
expiry tests take a few seconds.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from ..._builders import BuilderMap
from ..._clock import now_ms
from ..._errors import InvalidOptionError, InvalidRecordError, NotFoundError
from ...deployments import DEPLOYMENTS, DeploymentStore, heartbeating
from .._factory import StoreFactory, unique_namespace
from .._suite_base import ConformanceSuite
from ..agents._processes import start, wait_for_file
from ._processes import INTERVAL, TTL, heartbeat_until_killed

#: Seconds a dead instance may still be found past the TTL (the test polls every 50 ms).
EXPIRY_MARGIN = 0.5

BAD_CALLS: list[tuple[str, Callable[[DeploymentStore], Awaitable[Any]], str]] = [
    ("empty id", lambda s: s.start("", "http://x", ["f"]), "deployment_id"),
    ("long id", lambda s: s.start("x" * 257, "http://x", ["f"]), "deployment_id"),
    ("int id", lambda s: s.start(3, "http://x", ["f"]), "deployment_id"),  # type: ignore[arg-type]
    ("NUL endpoint", lambda s: s.start("d9", "http://\x00", ["f"]), "endpoint"),
    ("functions as string", lambda s: s.start("d9", "http://x", "f"), "functions"),
    ("bad function", lambda s: s.start("d1", "http://x", ["g", ""]), "functions[1]"),
    ("surrogate function", lambda s: s.start("d1", "http://x", ["\ud800"]), "functions[0]"),
    ("bad heartbeat id", lambda s: s.heartbeat(""), "deployment_id"),
    ("bad stop id", lambda s: s.stop(None), "deployment_id"),  # type: ignore[arg-type]
    ("bad function name", lambda s: s.find_deployment(""), "function"),
    ("live_only not bool", lambda s: s.list_deployments("yes"), "live_only"),  # type: ignore[arg-type]
]


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``within`` seconds."""
    with anyio.move_on_after(within):
        while not await check():
            await anyio.sleep(0.05)
        return
    pytest.fail(f"not within {within} s: {what}")


async def ids(store: DeploymentStore, live_only: bool = True) -> list[str]:
    return [d.deployment_id for d in await store.list_deployments(live_only)]


async def serving(store: DeploymentStore, function: str) -> str | None:
    try:
        return (await store.find_deployment(function)).deployment_id
    except NotFoundError:
        return None


@pytest.mark.anyio
class DeploymentStoreConformance(ConformanceSuite):
    """The ``DeploymentService`` contract: start, heartbeat, stop, find, list, prune."""

    @pytest.fixture
    async def deployments(
        self, store_factory: StoreFactory
    ) -> AsyncIterator[BuilderMap[DeploymentStore]]:
        async with store_factory.open_family(
            DEPLOYMENTS, heartbeat_interval=INTERVAL, heartbeat_ttl=TTL
        ) as deployments:
            yield deployments

    @pytest.fixture
    def store(
        self, deployments: BuilderMap[DeploymentStore], store_factory: StoreFactory
    ) -> DeploymentStore:
        return deployments.build(store_factory.descriptor(unique_namespace("d")))

    async def test_a_started_instance_is_listed_and_found_by_each_function(
        self, store: DeploymentStore
    ) -> None:
        before = now_ms()
        await store.start("d1", "http://10.0.0.1:8000", ["greet", "add", "greet"])
        [listed] = await store.list_deployments()
        assert listed.deployment_id == "d1"
        assert listed.endpoint == "http://10.0.0.1:8000"
        assert listed.functions == ("add", "greet")
        assert before <= listed.heartbeat_ms <= now_ms()
        assert await store.find_deployment("add") == listed
        assert await store.find_deployment("greet") == listed

    async def test_the_longest_ids_of_four_byte_characters_are_stored(
        self, store: DeploymentStore
    ) -> None:
        deployment_id, function = "\U0001d11e" * 256, "\U0001f600" * 256
        endpoint = "http://" + "\U0001f600" * 500
        await store.start(deployment_id, endpoint, [function])
        found = await store.find_deployment(function)
        assert (found.deployment_id, found.endpoint) == (deployment_id, endpoint)

    async def test_no_live_instance_is_a_not_found_naming_the_function(
        self, store: DeploymentStore
    ) -> None:
        await store.start("d1", "http://a", ["greet"])
        with pytest.raises(NotFoundError) as caught:
            await store.find_deployment("other")
        assert caught.value.context == {"function": "other"}

    async def test_starting_again_replaces_the_function_list(self, store: DeploymentStore) -> None:
        await store.start("d1", "http://a", ["old", "kept"])
        await store.start("d1", "http://b", ["kept", "new"])
        assert await serving(store, "old") is None
        assert (await store.find_deployment("new")).endpoint == "http://b"
        assert [d.functions for d in await store.list_deployments()] == [("kept", "new")]
        await store.start("d1", "http://b", [])
        assert await serving(store, "kept") is None
        assert await ids(store) == ["d1"]

    async def test_find_returns_the_live_instance_with_the_newest_heartbeat(
        self, store: DeploymentStore
    ) -> None:
        for deployment_id in ("d1", "d2", "d3"):
            await store.start(deployment_id, f"http://{deployment_id}", ["f"])
            await anyio.sleep(0.01)
        assert await serving(store, "f") == "d3"
        await store.heartbeat("d1")
        assert await serving(store, "f") == "d1"
        await store.stop("d1")
        assert await serving(store, "f") == "d3"

    async def test_stop_removes_the_instance_and_is_idempotent(
        self, store: DeploymentStore
    ) -> None:
        await store.start("d1", "http://a", ["f"])
        await store.start("d2", "http://b", ["g"])
        await store.stop("d1")
        await store.stop("d1")
        await store.stop("never-started")
        assert await ids(store, live_only=False) == ["d2"]
        assert await serving(store, "f") is None
        with pytest.raises(NotFoundError):
            await store.heartbeat("d1")

    async def test_a_heartbeat_refreshes_and_an_unknown_one_is_not_found(
        self, store: DeploymentStore
    ) -> None:
        await store.start("d1", "http://a", ["f"])
        [first] = await store.list_deployments()
        await anyio.sleep(0.02)
        await store.heartbeat("d1")
        [second] = await store.list_deployments()
        assert second.heartbeat_ms > first.heartbeat_ms
        assert second.functions == first.functions
        with pytest.raises(NotFoundError) as caught:
            await store.heartbeat("nobody")
        assert caught.value.context == {"deployment_id": "nobody"}

    async def test_an_instance_silent_past_the_ttl_is_ignored_then_pruned(
        self, store: DeploymentStore
    ) -> None:
        await store.start("quiet", "http://q", ["f"])
        await store.start("alive", "http://a", ["g"])
        with anyio.fail_after(TTL * 4):
            while await ids(store) != ["alive"]:
                await store.heartbeat("alive")
                await anyio.sleep(INTERVAL)
        assert await serving(store, "f") is None
        assert await ids(store) == ["alive"]
        assert "quiet" in await ids(store, live_only=False)
        with pytest.raises(NotFoundError):
            await store.heartbeat("quiet")  # expired: the instance must start again
        await store.heartbeat("alive")
        assert await store.prune() == 1
        assert await ids(store, live_only=False) == ["alive"]
        assert await store.prune() == 0
        await store.start("quiet", "http://q", ["f"])
        assert await serving(store, "f") == "quiet"

    async def test_heartbeating_starts_beats_and_stops_on_exit(
        self, store: DeploymentStore
    ) -> None:
        async with heartbeating(store, "d1", "http://a", ["f"]):
            first = (await store.find_deployment("f")).heartbeat_ms
            await until(lambda: _beat_after(store, first), INTERVAL * 10, "a heartbeat after start")
            await anyio.sleep(TTL + INTERVAL)  # outlive the TTL on heartbeats alone
            assert await serving(store, "f") == "d1"
        assert await ids(store, live_only=False) == []

    async def test_heartbeating_starts_the_instance_again_once_it_was_pruned(
        self, store: DeploymentStore
    ) -> None:
        async with heartbeating(store, "d1", "http://a", ["f"]):
            await store.stop("d1")  # as a prune after a long pause would
            await until(lambda: _is_served(store, "f"), INTERVAL * 20, "a new start")
            assert (await store.find_deployment("f")).endpoint == "http://a"

    async def test_concurrent_starts_of_one_instance_leave_one_whole_function_list(
        self, store: DeploymentStore
    ) -> None:
        lists = [[f"w{writer}-f{i}" for i in range(5)] for writer in range(6)]

        async def start_repeatedly(functions: list[str]) -> None:
            for _ in range(5):
                await store.start("d1", f"http://{functions[0]}", functions)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tasks:
                for functions in lists:
                    tasks.start_soon(start_repeatedly, functions)
        [stored] = await store.list_deployments()
        winner = next(functions for functions in lists if functions[0] in stored.endpoint)
        assert stored.functions == tuple(winner)
        for functions in lists:
            for function in functions:
                assert (await serving(store, function) is not None) == (functions is winner)

    async def test_heartbeating_stops_cleanly_when_cancelled(self, store: DeploymentStore) -> None:
        started = anyio.Event()

        async def serve() -> None:
            async with heartbeating(store, "d1", "http://a", ["f"]):
                started.set()
                await anyio.sleep_forever()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(serve)
                await started.wait()
                assert await ids(store) == ["d1"]
                tasks.cancel_scope.cancel()
        assert await ids(store, live_only=False) == []

    async def test_an_instance_whose_task_dies_without_stop_expires_within_the_ttl(
        self, store: DeploymentStore
    ) -> None:
        async def beat_forever(deployment_id: str) -> None:
            functions = ["shared", f"only-{deployment_id}"]
            await store.start(deployment_id, f"http://{deployment_id}", functions)
            while True:
                await anyio.sleep(INTERVAL)
                await store.heartbeat(deployment_id)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tasks:
                doomed = anyio.CancelScope()

                async def doomed_instance() -> None:
                    with doomed:
                        await beat_forever("d-dead")

                tasks.start_soon(beat_forever, "d1")
                tasks.start_soon(beat_forever, "d2")
                tasks.start_soon(doomed_instance)
                await until(lambda: _all_live(store, 3), 10, "three live instances")
                doomed.cancel()  # dies without stop()
                await self._check_the_dead_one_goes(store, "d-dead")
                tasks.cancel_scope.cancel()

    async def test_an_instance_killed_without_stop_expires_within_the_ttl_and_is_pruned(
        self, store_factory: StoreFactory, store: DeploymentStore, tmp_path: Path
    ) -> None:
        self.needs_processes()
        names = ["d1", "d2", "d3"]
        workers = {
            name: start(heartbeat_until_killed, store_factory, store.namespace, name, str(tmp_path))
            for name in names
        }
        try:
            for name in names:
                await wait_for_file(tmp_path / f"ready-{name}")
            await until(lambda: _all_live(store, 3), 10, "three live instances")
            pid = workers["d2"].pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)  # no stop(), no last write
            workers["d2"].join(10)
            await self._check_the_dead_one_goes(store, "d2")
            assert all(workers[name].is_alive() for name in ("d1", "d3"))
        finally:
            for worker in workers.values():
                worker.kill()
                worker.join(10)

    async def _check_the_dead_one_goes(self, store: DeploymentStore, dead: str) -> None:
        """Within the TTL (and a polling margin) ``dead`` is no longer found,
        while the others still are; then :meth:`prune` deletes it alone."""
        killed_at = anyio.current_time()
        await until(lambda: _not_found(store, f"only-{dead}", dead), TTL + 5, "expiry")
        # Its last heartbeat came before it died, so it expires at most TTL after; the
        # margin is for polling on a loaded machine.
        assert anyio.current_time() - killed_at <= TTL + EXPIRY_MARGIN
        live = await ids(store)
        assert dead not in live
        assert len(live) == 2
        for _ in range(10):
            assert await serving(store, "shared") in live
        with anyio.fail_after(10):
            # Redis expires by its own clock, prune() compares with the caller's: allow
            # the millisecond they may differ by.
            while await store.prune() == 0:
                await anyio.sleep(0.01)
        assert dead not in await ids(store, live_only=False)
        assert sorted(await ids(store, live_only=False)) == sorted(live)

    async def test_a_bad_ttl_option_is_refused(self, store_factory: StoreFactory) -> None:
        with pytest.raises(InvalidOptionError) as caught:
            store_factory.open_family(DEPLOYMENTS, heartbeat_ttl=0).build(
                store_factory.descriptor("default")
            )
        assert caught.value.field == "heartbeat_ttl"

    @pytest.mark.parametrize(("case", "call", "field"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
    async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
        self,
        store: DeploymentStore,
        case: str,
        call: Callable[[DeploymentStore], Awaitable[Any]],
        field: str,
    ) -> None:
        await store.start("d1", "http://a", ["f"])
        before = await store.list_deployments(live_only=False)
        with pytest.raises(InvalidRecordError) as caught:
            await call(store)
        assert caught.value.field == field, case
        assert await store.list_deployments(live_only=False) == before


async def _beat_after(store: DeploymentStore, heartbeat_ms: int) -> bool:
    return (await store.find_deployment("f")).heartbeat_ms > heartbeat_ms


async def _is_served(store: DeploymentStore, function: str) -> bool:
    return await serving(store, function) is not None


async def _all_live(store: DeploymentStore, count: int) -> bool:
    return len(await store.list_deployments()) == count


async def _not_found(store: DeploymentStore, function: str, dead: str) -> bool:
    return await serving(store, function) is None and dead not in await ids(store)
