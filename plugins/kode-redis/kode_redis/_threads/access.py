"""What the ``redis`` thread and run stores share: the client, the scripts, run replies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kode_core.backend import SchemaComponent
from kode_core.runs import ApprovalRow, StoredRun

from .._backend import RedisBackend
from .._schema import RedisMigration
from .schema import ConversationKeys
from .scripts import ConversationScripts

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

#: The thread whose keys a script about runs alone receives (it touches none of them).
_NO_THREAD = ""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stored_run(reply: Sequence[Any]) -> StoredRun:
    """A run as :data:`~kode_redis._threads.scripts` ``load_run`` returns it."""
    run_id, body, *rest = (_text(item) for item in reply)
    rows = []
    for i in range(0, len(rest), 3):
        tool_call_id, row, decision = rest[i : i + 3]
        _, position, approval = json.loads(row)
        choice, _, resolved = decision.partition(":")
        rows.append(
            ApprovalRow(
                tool_call_id,
                run_id,
                int(position),
                approval,
                choice or None,
                int(resolved) if resolved else None,
            )
        )
    return StoredRun(body, rows)


class ConversationAccess:
    """The client, keys and scripts of one namespace's threads and runs."""

    def __init__(
        self, backend: RedisBackend, namespace: str, component: SchemaComponent[RedisMigration]
    ) -> None:
        self.backend = backend
        self.namespace = namespace
        self.component = component
        self.keys = ConversationKeys.for_namespace(namespace)

    async def ready(self) -> tuple[Redis, ConversationScripts]:
        client = await self.backend.client(self.namespace, self.component)
        return client, self.backend.scripts(ConversationScripts.register)

    def script_keys(self, thread_id: str = _NO_THREAD) -> list[str]:
        thread = self.keys.thread(thread_id)
        return [thread, f"{thread}:seq", f"{thread}:body", *self.keys.namespace_keys()]

    async def run(self, pick: str, args: Sequence[Any], thread_id: str = _NO_THREAD) -> Any:
        """Run the script named ``pick`` with ``args``, about ``thread_id``'s keys."""
        _, scripts = await self.ready()
        script: AsyncScript = getattr(scripts, pick)
        with self.backend.errors():
            return await script(keys=self.script_keys(thread_id), args=list(args))
