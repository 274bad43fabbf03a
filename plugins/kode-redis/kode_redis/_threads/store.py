"""The thread store on Redis: a hash per thread, sorted-set indexes for every listing."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any

from kode_core import ConflictError
from kode_core.runs import StoredRun
from kode_core.threads import MessageRow, ThreadOptions, ThreadQuery, ThreadRow, ThreadStore

from .._backend import RedisBackend
from .._options import RedisOptions
from .access import ConversationAccess, stored_run
from .schema import THREADS

_ROW_FIELDS = ("resource_id", "created_ms", "updated_ms", "body")


def _last_part(member: str) -> str:
    return member.rsplit("\0", 1)[-1]


def _lex_range(prefix: str) -> tuple[str, str]:
    """The ZRANGEBYLEX bounds of the members ``<prefix>\\0...``."""
    return f"[{prefix}\0", f"({prefix}\1"


class RedisThreadStore(ThreadStore):
    """Threads on Redis. Each write is one Lua script: appending numbers the new
    messages from the thread's counter, and deleting a thread removes its messages,
    memory, runs, approvals and scores at once. Listings read sorted-set indexes."""

    def __init__(
        self, backend: RedisBackend, options: RedisOptions, settings: ThreadOptions
    ) -> None:
        super().__init__(options, settings)
        backend.refuse_on_cluster("threads")  # its scripts still span hash slots
        self._use_schema(backend, THREADS)
        self._access = ConversationAccess(backend, options.namespace, THREADS)
        self._keys = self._access.keys

    def __repr__(self) -> str:
        return f"<RedisThreadStore namespace={self.namespace!r} backend={self._access.backend!r}>"

    async def _rows(self, thread_ids: Iterable[str]) -> list[ThreadRow]:
        ids = list(thread_ids)
        if not ids:
            return []
        client, _ = await self._access.ready()
        with self._access.backend.errors():
            async with client.pipeline(transaction=False) as pipe:
                for thread_id in ids:
                    pipe.hmget(self._keys.thread(thread_id), _ROW_FIELDS)
                replies = await pipe.execute()
        return [
            ThreadRow(thread_id, resource, int(created), int(updated), body)
            for thread_id, (resource, created, updated, body) in zip(ids, replies, strict=True)
            if body is not None  # deleted between the index read and this one
        ]

    async def _insert_thread(self, row: ThreadRow) -> None:
        args = [row.id, row.resource_id, row.created_ms, row.updated_ms, row.body]
        if int(await self._access.run("create_thread", args, row.id)) != 1:
            raise ConflictError(f"thread {row.id!r} exists", thread_id=row.id)

    async def _load_thread(self, thread_id: str) -> ThreadRow | None:
        rows = await self._rows([thread_id])
        return rows[0] if rows else None

    async def _resource_threads(self, resource_id: str) -> builtins.list[ThreadRow]:
        ids = await self._indexed(self._keys.key("threads:by_resource"), [resource_id])
        rows = await self._rows(ids)
        return sorted(rows, key=lambda row: (row.updated_ms, row.id), reverse=True)

    async def _indexed(self, index: str, prefixes: Sequence[str]) -> set[str]:
        """The thread ids of ``index``'s members ``<prefix>\\0<thread>``."""
        client, _ = await self._access.ready()
        with self._access.backend.errors():
            async with client.pipeline(transaction=False) as pipe:
                for prefix in prefixes:
                    pipe.zrangebylex(index, *_lex_range(prefix))
                replies = await pipe.execute()
        return {_last_part(member) for reply in replies for member in reply}

    async def _delete_thread(self, thread_id: str) -> bool:
        return int(await self._access.run("delete_thread", [thread_id], thread_id)) == 1

    async def _load_messages(
        self, thread_id: str, last_n: int | None, before: str | None
    ) -> builtins.list[str] | None:
        args = [before or "", -1 if last_n is None else last_n]
        if last_n == 0:
            args[1] = 0  # LIMIT 0 0 reads nothing; before is still checked
        reply = await self._access.run("load_messages", args, thread_id)
        if reply is None or reply is False:
            return None
        if last_n == 0:
            return []
        return [str(body) for body in reply]

    async def _append_messages(
        self, thread_id: str, rows: Sequence[MessageRow], updated_ms: int
    ) -> bool:
        args: list[Any] = [thread_id, updated_ms]
        for row in rows:
            args += [row.id, row.body]
        return int(await self._access.run("append_messages", args, thread_id)) == 1

    async def _load_memory(self, scope: str, id: str) -> str | None:
        client, _ = await self._access.ready()
        with self._access.backend.errors():
            body = await client.hget(self._keys.key("memory"), f"{scope}\0{id}")
        return None if body is None else str(body)

    async def _save_memory(self, scope: str, id: str, body: str, updated_ms: int) -> None:
        client, _ = await self._access.ready()
        with self._access.backend.errors():
            await client.hset(self._keys.key("memory"), f"{scope}\0{id}", body)

    async def _all_memory(self) -> builtins.list[tuple[str, str, str]]:
        client, _ = await self._access.ready()
        with self._access.backend.errors():
            found = await client.hgetall(self._keys.key("memory"))
        rows = []
        for key, body in found.items():
            scope, _, id = str(key).partition("\0")
            rows.append((scope, id, str(body)))
        return sorted(rows)

    async def _list_threads(self, query: ThreadQuery) -> builtins.list[ThreadRow]:
        client, _ = await self._access.ready()
        by_update = self._keys.key("threads:by_update")
        stop = query.offset + query.limit - 1
        if query.agent_name is None and query.resource_id is None and query.owners is None:
            with self._access.backend.errors():
                ids = await client.zrevrange(by_update, query.offset, stop)
            return await self._rows(str(thread_id) for thread_id in ids)
        candidates = await self._candidates(query)
        if not candidates:
            return []
        ordered = sorted(candidates)
        with self._access.backend.errors():
            scores = await client.zmscore(by_update, ordered)
        ranked = sorted(
            (
                (score, thread_id)
                for thread_id, score in zip(ordered, scores, strict=True)
                if score is not None
            ),
            reverse=True,
        )
        page = [thread_id for _, thread_id in ranked[query.offset : stop + 1]]
        return await self._rows(page)

    async def _candidates(self, query: ThreadQuery) -> set[str]:
        """The ids passing every filter, read from the sorted-set indexes."""
        found: list[set[str]] = []
        by_resource = self._keys.key("threads:by_resource")
        if query.resource_id is not None:
            found.append(await self._indexed(by_resource, [query.resource_id]))
        if query.agent_name is not None:
            found.append(await self._indexed(self._keys.key("agents:threads"), [query.agent_name]))
        if query.owners is not None:
            client, _ = await self._access.ready()
            with self._access.backend.errors():
                async with client.pipeline(transaction=False) as pipe:
                    for owner in query.owners:
                        pipe.zrangebylex(by_resource, *_lex_range(owner.exact))
                        pipe.zrangebylex(by_resource, f"[{owner.low}", f"({owner.high}")
                    replies = await pipe.execute()
            found.append({_last_part(member) for reply in replies for member in reply})
        return set.intersection(*found)

    async def _thread_runs(self, thread_id: str) -> builtins.list[StoredRun]:
        return [stored_run(item) for item in await self._access.run("thread_runs", [thread_id])]

    async def _agent_names(self) -> builtins.list[str]:
        client, _ = await self._access.ready()
        with self._access.backend.errors():
            names = await client.zrange(self._keys.key("agents"), 0, -1)
        return sorted(str(name) for name in names)
