"""The console's read model over a thread store (Pikku's ``AgentRunService``)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from .._errors import InvalidRecordError, NotFoundError
from ..runs._records import Run
from ..runs._rows import assemble_run
from ..runs._store import check_id
from ._records import AgentMessage, Thread
from ._rows import ThreadQuery, check_count, check_list, owner_ranges, thread_of

if TYPE_CHECKING:
    from ._store import ThreadStore

#: The most threads one :meth:`ThreadConsole.list_threads` call returns.
MAX_LIST_LIMIT = 1000


@attrs.define
class ThreadConsole:
    """Read-only queries an operator console runs, plus :meth:`delete_thread`.

    ``owners`` is an authorization filter: a thread matches an owner when its
    resource id is the owner or starts with ``owner + ":"``.
    """

    _store: ThreadStore

    async def list_threads(
        self,
        agent_name: str | None = None,
        resource_id: str | None = None,
        owners: Sequence[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Thread]:
        """Threads newest update first, filtered, then paged by ``offset`` and ``limit``.

        ``agent_name`` keeps threads with a run of that agent; ``owners`` (None: no
        filter) keeps threads one of the owners may see, and an empty list sees none.
        """
        if agent_name is not None:
            check_id(agent_name, "agent_name")
        if resource_id is not None:
            check_id(resource_id, "resource_id")
        ranges = None
        if owners is not None:
            names = [
                check_id(owner, f"owners[{i}]")
                for i, owner in enumerate(check_list(owners, "owners"))
            ]
            if not names:
                return []
            ranges = owner_ranges(names)
        check_count(limit, "limit")
        check_count(offset, "offset")
        if limit > MAX_LIST_LIMIT:
            raise InvalidRecordError("limit", f"must be at most {MAX_LIST_LIMIT}, got {limit}")
        if limit == 0:
            return []
        query = ThreadQuery(agent_name, resource_id, ranges, limit, offset)
        return [thread_of(row) for row in await self._store._list_threads(query)]

    async def get_thread(self, thread_id: str) -> Thread | None:
        """The thread, or None if there is none."""
        try:
            return await self._store.get_thread(thread_id)
        except NotFoundError:
            return None

    async def get_thread_messages(self, thread_id: str) -> builtins.list[AgentMessage]:
        """Every message of the thread, in stored order."""
        return await self._store.get_messages(thread_id)

    async def get_thread_runs(self, thread_id: str) -> builtins.list[Run]:
        """The thread's runs, newest first."""
        stored = await self._store._thread_runs(check_id(thread_id, "thread_id"))
        return [assemble_run(item) for item in stored]

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread and everything of it; False if there was none."""
        return await self._store.delete_thread(thread_id)

    async def distinct_agent_names(self) -> builtins.list[str]:
        """The agent names of the namespace's runs, sorted, each once."""
        return await self._store._agent_names()
