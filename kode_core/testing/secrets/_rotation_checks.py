"""Rotation checks of the secrets kit: v1 -> v3 from any older key, once per row,
with rivals in this process and in other OS processes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs
import pytest

from ..._errors import DecryptionError
from ...secrets import AuditAction, RotationProgress, SecretStore
from .._factory import StoreFactory
from ..agents._processes import start, wait_for_file
from ._processes import rotate_in_process
from ._raw import RawSecretRows
from .samples import K1, K2, K3, PASSPHRASE, settings

V3 = settings(K3, 3, {1: K1, 2: K2})
ROWS = 30


@pytest.mark.anyio
class RotationChecks:
    """``rotate()``: from any older version, reported progress, safe when raced."""

    if TYPE_CHECKING:  # provided by ConformanceSuite, which mixes this in

        def needs_processes(self) -> None: ...

    async def _fill_v1_and_v2(self, open_secrets: Any, factory: StoreFactory, ns: str) -> None:
        v1 = open_secrets(**settings(K1, 1)).build(factory.descriptor(ns))
        v2 = open_secrets(**settings(K2, 2, {1: K1})).build(factory.descriptor(ns))
        for i in range(ROWS):
            await (v1 if i % 2 else v2).set_secret(f"s{i:03d}", {"i": i})

    async def test_rotation_from_v1_and_v2_to_v3_leaves_every_row_readable_under_v3_only(
        self,
        open_secrets: Any,
        store_factory: StoreFactory,
        namespace: str,
        raw_secret_rows: RawSecretRows,
    ) -> None:
        await self._fill_v1_and_v2(open_secrets, store_factory, namespace)
        v3 = open_secrets(**V3).build(store_factory.descriptor(namespace))
        before = {i: await raw_secret_rows.read(v3, f"s{i:03d}") for i in range(ROWS)}
        seen: list[RotationProgress] = []
        assert await v3.rotate(on_progress=seen.append) == ROWS
        assert [p.checked for p in seen] == list(range(1, ROWS + 1))
        assert seen[-1] == RotationProgress(ROWS, ROWS, ROWS)
        only_v3 = open_secrets(**settings(K3, 3)).build(store_factory.descriptor(namespace))
        for i in range(ROWS):
            row = await raw_secret_rows.read(only_v3, f"s{i:03d}")
            old = before[i]
            assert row is not None
            assert old is not None
            assert row.key_version == 3
            assert row.ciphertext == old.ciphertext  # values are not re-encrypted
            assert row.created_at == old.created_at
            assert (await only_v3.get_secret(f"s{i:03d}")).reveal() == {"i": i}
        without_v3 = open_secrets(**settings(K2, 2, {1: K1})).build(
            store_factory.descriptor(namespace)
        )
        with pytest.raises(DecryptionError):
            await without_v3.get_secret("s000")

    async def test_rotating_again_rotates_nothing(
        self, open_secrets: Any, store_factory: StoreFactory, namespace: str
    ) -> None:
        await self._fill_v1_and_v2(open_secrets, store_factory, namespace)
        v3 = open_secrets(**V3).build(store_factory.descriptor(namespace))
        assert await v3.rotate() == ROWS
        seen: list[RotationProgress] = []
        assert await v3.rotate(on_progress=seen.append) == 0
        assert seen == []
        log = await v3.audit_log(limit=1000)
        assert Counter(e.action for e in log)[AuditAction.ROTATE] == ROWS

    async def test_a_passphrase_key_rotates_to_a_raw_key(
        self, open_secrets: Any, store_factory: StoreFactory, namespace: str
    ) -> None:
        v1 = open_secrets(**settings(PASSPHRASE, 1)).build(store_factory.descriptor(namespace))
        await v1.set_secret("p", "by passphrase")
        v2 = open_secrets(**settings(K2, 2, {1: PASSPHRASE})).build(
            store_factory.descriptor(namespace)
        )
        assert await v2.rotate() == 1
        only_v2 = open_secrets(**settings(K2, 2)).build(store_factory.descriptor(namespace))
        assert (await only_v2.get_secret("p")).reveal() == "by passphrase"

    async def test_rows_whose_key_is_unknown_are_reported_and_left_alone(
        self,
        open_secrets: Any,
        store_factory: StoreFactory,
        namespace: str,
        raw_secret_rows: RawSecretRows,
    ) -> None:
        await self._fill_v1_and_v2(open_secrets, store_factory, namespace)
        v3 = open_secrets(**settings(K3, 3, {2: K2})).build(store_factory.descriptor(namespace))
        kept = await raw_secret_rows.read(v3, "s001")
        seen: list[RotationProgress] = []
        assert await v3.rotate(on_progress=seen.append) == ROWS // 2
        odd = tuple((f"s{i:03d}", 1) for i in range(1, ROWS, 2))
        assert seen[-1] == RotationProgress(ROWS, ROWS, ROWS // 2, odd)
        assert seen[-1].left_behind == ROWS // 2
        assert await raw_secret_rows.read(v3, "s001") == kept
        full = open_secrets(**V3).build(store_factory.descriptor(namespace))
        assert await full.rotate() == ROWS // 2  # a key found later still rotates them

    async def test_rows_of_a_newer_version_are_read_but_never_rotated_back(
        self,
        open_secrets: Any,
        store_factory: StoreFactory,
        namespace: str,
        raw_secret_rows: RawSecretRows,
    ) -> None:
        # An instance not upgraded yet (v1) meets a row an upgraded one (v2) wrote.
        upgraded = open_secrets(**settings(K2, 2, {1: K1})).build(
            store_factory.descriptor(namespace)
        )
        await upgraded.set_secret("fresh", "written at v2")
        lagging = open_secrets(**settings(K1, 1, {2: K2})).build(
            store_factory.descriptor(namespace)
        )
        assert (await lagging.get_secret("fresh")).reveal() == "written at v2"
        assert await lagging.rotate() == 0
        row = await raw_secret_rows.read(lagging, "fresh")
        assert row is not None
        assert row.key_version == 2

    async def test_an_unreadable_row_is_reported_and_left_alone(
        self,
        open_secrets: Any,
        store_factory: StoreFactory,
        namespace: str,
        raw_secret_rows: RawSecretRows,
    ) -> None:
        await self._fill_v1_and_v2(open_secrets, store_factory, namespace)
        v3 = open_secrets(**V3).build(store_factory.descriptor(namespace))
        row = await raw_secret_rows.read(v3, "s004")
        assert row is not None
        broken = attrs.evolve(row, wrapped_key=row.wrapped_key[:-1])
        await raw_secret_rows.write(v3, broken)
        seen: list[RotationProgress] = []
        assert await v3.rotate(on_progress=seen.append) == ROWS - 1
        assert seen[-1].unreadable == (("s004", 2),)
        assert await raw_secret_rows.read(v3, "s004") == broken

    async def test_a_write_between_read_and_rewrap_wins_over_the_rotation(
        self, open_secrets: Any, store_factory: StoreFactory, namespace: str
    ) -> None:
        # The compare-and-set of one row, driven step by step through the primitives.
        v1 = open_secrets(**settings(K1, 1)).build(store_factory.descriptor(namespace))
        v2 = open_secrets(**settings(K2, 2, {1: K1})).build(store_factory.descriptor(namespace))
        await v1.set_secret("raced", "old")
        [stale] = await v2._stale(2, None, 10)
        await v1.set_secret("raced", "new, written by a v1 instance")
        fake = attrs.evolve(stale, key_version=2, wrapped_key=b"\x00" * 60)
        assert not await v2._rewrap(stale, fake, None)
        assert (await v2.get_secret("raced")).reveal() == "new, written by a v1 instance"

    async def test_two_instances_rotating_at_once_rewrap_each_row_once(
        self, open_secrets: Any, store_factory: StoreFactory, namespace: str
    ) -> None:
        await self._fill_v1_and_v2(open_secrets, store_factory, namespace)
        rivals = [open_secrets(**V3).build(store_factory.descriptor(namespace)) for _ in range(2)]
        counts: list[int] = []

        async def rotate(store: SecretStore, actor: str) -> None:
            counts.append(await store.rotate(actor=actor))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for n, rival in enumerate(rivals):
                    group.start_soon(rotate, rival, f"rival-{n}")
        assert sum(counts) == ROWS
        await self._assert_one_rotation_per_row(rivals[0])

    async def test_two_processes_rotating_at_once_rewrap_each_row_once(
        self, open_secrets: Any, store_factory: StoreFactory, namespace: str, tmp_path: Path
    ) -> None:
        self.needs_processes()
        await self._fill_v1_and_v2(open_secrets, store_factory, namespace)
        names = ["proc-a", "proc-b"]
        processes = [
            start(rotate_in_process, store_factory, namespace, V3, str(tmp_path), name)
            for name in names
        ]
        try:
            for name in names:
                await wait_for_file(tmp_path / f"ready-{name}")
            (tmp_path / "go").touch()
            counts = [int(await wait_for_file(tmp_path / f"done-{name}")) for name in names]
            for process in processes:
                await anyio.to_thread.run_sync(process.join, 60)
        finally:
            for process in processes:
                if process.is_alive():
                    process.kill()
        assert [p.exitcode for p in processes] == [0, 0]
        assert sum(counts) == ROWS
        v3 = open_secrets(**V3).build(store_factory.descriptor(namespace))
        actors = await self._assert_one_rotation_per_row(v3)
        assert actors <= set(names)

    async def _assert_one_rotation_per_row(self, store: SecretStore) -> set[str | None]:
        log = await store.audit_log(limit=1000)
        rotations = Counter(e.secret_key for e in log if e.action is AuditAction.ROTATE)
        assert rotations == Counter({f"s{i:03d}": 1 for i in range(ROWS)})
        for i in range(ROWS):
            assert (await store.get_secret(f"s{i:03d}")).reveal() == {"i": i}
        return {e.actor for e in log if e.action is AuditAction.ROTATE}
