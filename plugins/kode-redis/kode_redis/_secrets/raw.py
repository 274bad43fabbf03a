"""The conformance kit's raw-row hook for Redis: rows read and written with plain commands.

For tests only (:class:`kode_core.testing.RawSecretRows`): it bypasses the store's
encryption entirely; its dump is ``DUMP`` (Redis's own serialization) of every key of
the namespace's secrets, read with a client that does not decode replies.
"""

from __future__ import annotations

from kode_core.secrets import SecretRow, SecretStore

from .schema import parse_row, row_text
from .store import RedisSecretStore


class RedisRawSecretRows:
    """Reads, overwrites and dumps a redis secret store's rows."""

    async def read(self, store: SecretStore, name: str) -> SecretRow | None:
        redis_store = _redis(store)
        client = await redis_store.client()
        text = await client.hget(redis_store.keys.rows, name)
        created = await client.hget(redis_store.keys.created, name)
        if text is None:
            return None
        return parse_row(name, str(text), None if created is None else str(created))

    async def write(self, store: SecretStore, row: SecretRow) -> None:
        redis_store = _redis(store)
        client = await redis_store.client()
        keys = redis_store.keys
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.rows, row.name, row_text(row))
            pipe.hset(keys.created, row.name, str(row.created_at))
            pipe.zadd(keys.versions, {row.name: row.key_version})
            await pipe.execute()

    async def dump(self, store: SecretStore) -> bytes:
        redis_store = _redis(store)
        await redis_store.client()  # the namespace's layout is in place
        raw = redis_store._backend.raw_client()
        try:
            out = bytearray()
            async for key in raw.scan_iter(match=redis_store.keys.pattern, count=1000):
                out += key + (await raw.dump(key) or b"")
            return bytes(out)
        finally:
            await raw.aclose()


def _redis(store: SecretStore) -> RedisSecretStore:
    assert isinstance(store, RedisSecretStore), f"not a redis secret store: {store!r}"
    return store
