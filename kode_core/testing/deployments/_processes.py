"""What the deployment kit runs in other OS processes: instances that heartbeat until killed."""

from __future__ import annotations

from pathlib import Path

import anyio

from ...deployments import DEPLOYMENTS, heartbeating
from .._factory import StoreFactory

#: The kit's short liveness settings, so expiry tests take seconds.
INTERVAL = 0.2
TTL = 1.5


def heartbeat_until_killed(
    factory: StoreFactory, namespace: str, deployment_id: str, signal_dir: str
) -> None:
    """Start ``deployment_id`` serving ``shared`` and ``only-<id>``, heartbeat for ever."""

    async def main() -> None:
        async with factory.open_family(
            DEPLOYMENTS, heartbeat_interval=INTERVAL, heartbeat_ttl=TTL
        ) as deployments:
            store = deployments.build(factory.descriptor(namespace))
            endpoint = f"http://{deployment_id}.test"
            async with heartbeating(
                store, deployment_id, endpoint, ["shared", f"only-{deployment_id}"]
            ):
                Path(signal_dir, f"ready-{deployment_id}").touch()
                await anyio.sleep(600)  # killed long before

    anyio.run(main)
