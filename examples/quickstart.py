"""kode quickstart: a server keeps builders by kind, a client picks a store per request.

Run it: ``uv run --all-packages python examples/quickstart.py`` (uses SQLite, the
embedded default, in a temporary directory).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio

import kode_core


async def main(data_dir: Path) -> None:
    # Server side, once: defaults per kind, including server-only options.
    async with kode_core.session_stores(
        {"sqlite": {"path": str(data_dir / "kode.db")}, "memory": {}}
    ) as stores:
        print("kinds offered:", ", ".join(stores.kinds))

        # Per request: a wire descriptor names the kind and wire-safe options only.
        store = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_a"}})
        key = {"project_key": "demo", "session_id": "s-1"}
        await store.append(
            key,
            [
                {"type": "user", "uuid": "u-1", "message": "hello"},
                {"type": "assistant", "uuid": "a-1", "message": "hi! how can I help?"},
            ],
        )
        # A retried batch is idempotent by uuid.
        await store.append(key, [{"type": "assistant", "uuid": "a-1", "message": "hi!"}])
        print("transcript:", await store.load(key))
        print("sessions:", await store.list_sessions("demo"))

        other = stores.build({"kind": "sqlite", "options": {"namespace": "tenant_b"}})
        print("tenant_b sees:", await other.load(key))

        try:
            stores.build({"kind": "sqlite", "options": {"path": "/etc/passwd"}})
        except kode_core.ServerOnlyOptionError as exc:
            print("refused:", exc)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(main, Path(tmp))
