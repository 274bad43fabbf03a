"""What a store remembers of the conversations it last wrote, so a save costs what changed.

``save_messages`` replaces a whole list, and a runtime saves the list it holds after
every turn: the same message objects, one or two more. For each agent it recently
saved, a store keeps the message objects it was given, the rows it built from them,
and the token its engine holds for that list. The next save re-encodes only the
positions whose object is not the one seen there, and the engine writes only those
rows, if its token still says nobody else wrote the list in between.

Nothing stale can be written: a message object is only kept if the store
:func:`~._owned.own`\\ s its JSON values, and any change to any owned value drops
every remembered list (:func:`~._owned.changes`); a message given as a mapping is
never kept; and an engine refuses a patch whose token is not the stored one (the
store then replaces the whole list, as without this cache).
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Sequence

import attrs

from ._owned import own
from ._records import Message
from ._rows import MessageRow, digest

#: Agents whose last saved conversation a store remembers (the least recent is dropped).
REMEMBERED_AGENTS = 32


@attrs.define
class SeenList:
    """One agent's conversation as this store last wrote it."""

    token: str | None  # the engine's token for the list after that write (None: unknown)
    changes: int  # owned-value changes counted when it was encoded
    objects: list[object]  # per position: the owned message, or a marker matching nothing
    rows: list[MessageRow]
    digests: Counter[str]

    def changed_positions(self, values: Sequence[object]) -> list[int]:
        """Positions (below both lengths) whose value is not the object seen there."""
        objects = self.objects
        if all(map(operator.is_, values, objects)):
            return []
        return [i for i, same in enumerate(map(operator.is_, values, objects)) if not same]


class SeenLists:
    """The last written conversation of the :data:`REMEMBERED_AGENTS` most recent agents."""

    def __init__(self) -> None:
        self._lists: dict[str, SeenList] = {}

    def take(self, agent_id: str, changes: int) -> SeenList | None:
        """The agent's list, forgotten until :meth:`keep` (None: not remembered or stale)."""
        seen = self._lists.pop(agent_id, None)
        if seen is None or seen.changes != changes:
            return None
        return seen

    def keep(self, agent_id: str, seen: SeenList) -> None:
        self._lists[agent_id] = seen
        while len(self._lists) > REMEMBERED_AGENTS:
            del self._lists[next(iter(self._lists))]

    def forget(self, agent_id: str) -> None:
        self._lists.pop(agent_id, None)


@attrs.frozen
class SavePlan:
    """What one save writes: ``changed`` rows, or all ``rows`` when ``whole``."""

    objects: list[object]
    rows: list[MessageRow]
    changed: list[MessageRow]
    whole: bool


_NOT_KEPT = object()  # stands for a message given as a mapping, or coerced into a copy


def plan_save(
    values: Sequence[object],
    seen: SeenList | None,
    created: int,
    encode: Callable[[Message, str], str],
) -> SavePlan:
    """Check and encode the messages ``seen`` does not already hold at their position.

    Every message is checked before anything is written, as ever; one the store
    last saw at that position is the same object, owned, so it is as checked and
    encoded as it was then.
    """
    n = len(values)
    if seen is None:
        objects: list[object] = []
        rows: list[MessageRow] = []
        before: Sequence[MessageRow] = ()
        todo: Sequence[int] = range(n)
    else:
        todo = [*seen.changed_positions(values), *range(len(seen.objects), n)]
        objects, rows, before = seen.objects, seen.rows[:n], seen.rows
        del objects[n:]  # the list was taken out of the cache: this save owns it
    whole = seen is None or seen.token is None
    changed: list[MessageRow] = []
    for i in todo:
        value, path = values[i], f"messages[{i}]"
        message = Message.coerce(value, path)
        kept = own(message) if message is value else _NOT_KEPT
        body = encode(message, path)
        tag = digest(body)
        row = before[i] if i < len(before) else None
        if row is None or row.digest != tag:
            row = MessageRow(i, tag, body, message.role.value, message.content_types, created)
            # A message moved or sent again keeps the time it was first stored,
            # which only a whole replace reads back.
            whole = whole or bool(seen and seen.digests[tag])
            changed.append(row)
        if i < len(objects):
            objects[i], rows[i] = kept, row
        else:
            objects.append(kept)
            rows.append(row)
    return SavePlan(objects, rows, changed, whole)


def digests_after(seen: SeenList, plan: SavePlan) -> Counter[str]:
    """``seen``'s digest counts moved to ``plan``'s rows, by what changed only."""
    digests, before = seen.digests, seen.rows
    gone = [before[row.position].digest for row in plan.changed if row.position < len(before)]
    gone += [row.digest for row in before[len(plan.rows) :]]
    digests.subtract(gone)
    digests.update(row.digest for row in plan.changed)
    for tag in gone:
        if digests[tag] <= 0:
            del digests[tag]
    return digests
