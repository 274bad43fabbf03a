"""What the secrets kit runs in other OS processes: rival rotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from ...secrets import SECRETS
from .._factory import StoreFactory
from ..agents._processes import _wait_for_go


def rotate_in_process(
    factory: StoreFactory,
    namespace: str,
    settings: dict[str, Any],
    signal_dir: str,
    name: str,
) -> None:
    """Open the store with ``settings``, signal ready, rotate on go, write the count."""

    async def main() -> None:
        async with factory.open_family(SECRETS, **settings) as secrets:
            store = secrets.build(factory.descriptor(namespace))
            await store.has_secret("warm-up")  # connect and migrate before the race
            Path(signal_dir, f"ready-{name}").touch()
            _wait_for_go(signal_dir)
            rotated = await store.rotate(actor=name)
            Path(signal_dir, f"{name}.tmp").write_text(str(rotated))
            Path(signal_dir, f"{name}.tmp").rename(Path(signal_dir, f"done-{name}"))

    anyio.run(main)
