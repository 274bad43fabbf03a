"""Fork in the ``redis`` agent store: one script on one server, one per fork on a cluster."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kode_core.agents import InfoRow

if TYPE_CHECKING:
    from .schema import AgentKeys, AgentLayout
    from .scripts import AgentScripts


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _positions(keys: AgentKeys) -> list[int]:
    """1-based positions of the info, versions and listed keys among ``keys.data``."""
    data = keys.data
    return [data.index(key) + 1 for key in (keys.info, keys.versions, keys.listed)]


async def fork_in_one_script(
    scripts: AgentScripts, layout: AgentLayout, source: str, targets: Sequence[InfoRow]
) -> None:
    """Every fork of the call in one script (``COPY`` of each source key): all or none."""
    data = layout.agent(source).data
    keys = list(data)
    args: list[str | int] = [len(data), *_positions(layout.agent(source)), uuid.uuid4().hex]
    for row in targets:
        keys += layout.agent(row.agent_id).data
        args += [row.agent_id, row.body, row.template_id, row.created_ms, row.message_count]
    await scripts.fork(keys=keys, args=args)


async def fork_across_slots(
    scripts: AgentScripts, layout: AgentLayout, source: str, targets: Sequence[InfoRow]
) -> None:
    """Fork on a Redis Cluster, where the source and each fork have slots of their own.

    The source is read whole by one script (one moment of its slot), then each fork is
    written whole by one script of its slot, ``listed`` key included: each fork is
    complete or absent. A failure part way leaves the earlier forks complete and the
    later ones absent, and raises, so the caller learns no id.
    """
    found = await scripts.fork_read(keys=list(layout.agent(source).data))
    contents: list[str | int] = []
    for kind, items in found:
        contents += [_text(kind), len(items), *(_text(item) for item in items)]
    token = uuid.uuid4().hex
    for row in targets:
        head: list[str | int] = [*_positions(layout.agent(row.agent_id)), token, row.body]
        head += [row.template_id, row.created_ms, row.message_count]
        await scripts.fork_write(
            keys=list(layout.agent(row.agent_id).data), args=[*head, *contents]
        )
