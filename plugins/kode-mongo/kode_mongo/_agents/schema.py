"""Storage layout of the ``mongo`` agent store and its versioned, idempotent migration.

The agent store's collections sit beside the session store's, named
``<namespace>.<name>`` in the configured database; their schema version is the
``{_id: "agents"}`` document of ``<namespace>.kode_meta`` (the session store's is
``{_id: "sessions"}``), so each family migrates on its own, through the same
:func:`~kode_mongo._schema.ensure_schema`.

``agents``
    ``{_id: agent id, rev}``: one per stored agent. Every write transaction of an
    agent increments ``rev`` first, so two writers of one agent conflict in the
    engine (``WriteConflict``) and one of them retries after the other commits.
``agent_info``
    ``{_id: agent id, t: template id, c: created ms, n: message count, j: JSON}``.
``agent_messages``
    ``{a: agent, p: position, d: digest, c: first-stored ms, r: role, ct: [block
    types], j: JSON}``, unique on ``(a, p)``.
``agent_tool_calls``
    ``{a, i: id, p: position, n: name, s: state, e: is_error, h: has_approval,
    c: created ms, u: updated ms, d: digest, j}``, unique on ``(a, i)``.
``agent_docs``
    ``{a, f: family, k: key, s: sort ms, j}``, unique on ``(a, f, k)``.
``agent_events``
    ``{a, q: seq, ch: channel, j}``, unique on ``(a, q)``.
``agent_locks``
    ``{_id: agent id, owner, grant, expires: server ms, token}``: the lease and the
    fencing counter. Not agent data: deleting the agent keeps it, so tokens never repeat.
"""

from __future__ import annotations

import attrs
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from kode_core.agents import Doc, InfoRow, MessageRow, ToolCallRow

from .._schema import Collection, Document, MongoSchema


def _index(*fields: str, name: str, unique: bool = False) -> IndexModel:
    return IndexModel([(field, ASCENDING) for field in fields], name=name, unique=unique)


#: The agent-store collections.
AGENTS = MongoSchema(
    "agents",
    1,
    {
        1: {
            "agent_info": [
                _index("t", "c", name="template_created"),
                _index("c", name="created"),
            ],
            "agent_messages": [
                _index("a", "p", name="agent_position", unique=True),
                _index("c", "a", "p", name="created_agent_position"),
            ],
            "agent_tool_calls": [
                _index("a", "i", name="agent_id", unique=True),
                _index("a", "p", name="agent_position"),
                _index("c", "a", "i", name="created_agent_id"),
            ],
            "agent_docs": [
                _index("a", "f", "k", name="agent_family_key", unique=True),
                _index("a", "f", "s", "k", name="agent_family_sort"),
            ],
            "agent_events": [
                _index("a", "q", name="agent_seq", unique=True),
                _index("a", "ch", "q", name="agent_channel_seq"),
            ],
        }
    },
)


@attrs.frozen
class AgentCollections:
    """The agent-store collections of one namespace."""

    agents: Collection
    info: Collection
    messages: Collection
    tool_calls: Collection
    docs: Collection
    events: Collection
    locks: Collection

    @classmethod
    def of(cls, database: AsyncDatabase[Document], namespace: str) -> AgentCollections:
        def named(suffix: str) -> Collection:
            return database[f"{namespace}.{suffix}"]

        return cls(
            named("agents"),
            named("agent_info"),
            named("agent_messages"),
            named("agent_tool_calls"),
            named("agent_docs"),
            named("agent_events"),
            named("agent_locks"),
        )

    @property
    def agent_data(self) -> tuple[Collection, ...]:
        """Every collection holding agent records (the lock leases are not agent data)."""
        return (self.agents, self.info, self.messages, self.tool_calls, self.docs, self.events)


# -- the stored shape of each row (fields are set with $set or inserted whole) --


def message_document(row: MessageRow) -> Document:
    return {
        "d": row.digest,
        "c": row.created_ms,
        "r": row.role,
        "ct": list(row.content_types),
        "j": row.body,
    }


def tool_call_document(row: ToolCallRow) -> Document:
    return {
        "p": row.position,
        "n": row.name,
        "s": row.state,
        "e": row.is_error,
        "h": row.has_approval,
        "c": row.created_ms,
        "u": row.updated_ms,
        "d": row.digest,
        "j": row.body,
    }


def doc_document(agent_id: str, family: str, doc: Doc) -> Document:
    return {"a": agent_id, "f": family, "k": doc.key, "s": doc.sort_ms, "j": doc.body}


def info_document(row: InfoRow) -> Document:
    return {"t": row.template_id, "c": row.created_ms, "n": row.message_count, "j": row.body}
