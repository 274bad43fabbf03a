"""Conformance checks of the ``QueryableAgentStore`` layer (mixed into the suites)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import anyio
import pytest

from ..._errors import InvalidRecordError
from ...agents import ExtendedAgentStore, StoredMessage, ToolCallState
from . import samples as sample
from .samples import AGENT


async def _three_agents(store: ExtendedAgentStore) -> None:
    for agent_id, template, created in [("a1", "t1", 10), ("a2", "t2", 20), ("a3", "t1", 30)]:
        await store.save_info(agent_id, sample.agent_info(agent_id, template, created=created))


async def _tool_calls(store: ExtendedAgentStore) -> None:
    await store.save_tool_call_records(
        "a1",
        [
            sample.tool_call("c1", "bash_run", created=1),
            sample.tool_call("c2", "read_file", ToolCallState.FAILED, created=2, is_error=True),
            sample.tool_call(
                "c3", "bash_run", ToolCallState.APPROVAL_REQUIRED, created=3, approval=True
            ),
        ],
    )
    await store.save_tool_call_records(
        "a2", [sample.tool_call("c1", "bash_run", ToolCallState.FAILED, created=4, is_error=True)]
    )


@pytest.mark.anyio
class QueryChecks:
    """Queries and statistics: filters, both name sets, sort checks, paging, exact counts."""

    async def test_query_sessions_by_template_and_creation_window(
        self, store: ExtendedAgentStore
    ) -> None:
        await _three_agents(store)

        async def ids(**filters: Any) -> list[str]:
            return [info.agent_id for info in await store.query_sessions(**filters)]

        assert await ids() == ["a1", "a2", "a3"]
        assert await ids(template_id="t1") == ["a1", "a3"]
        assert await ids(templateId="t1", createdAfter=sample.at(20)) == ["a3"]
        assert await ids(created_after=sample.at(20)) == ["a2", "a3"]
        assert await ids(startDate=sample.at(10), endDate=sample.at(30)) == ["a1", "a2"]
        assert await ids(sortBy="agent_id", sortOrder="desc") == ["a3", "a2", "a1"]
        assert await ids(sort_by="template_id", limit=2) == ["a1", "a3"]
        assert await ids(limit=1, offset=1) == ["a2"]
        assert await store.query_sessions({"agentId": "a2"}) == [
            sample.agent_info("a2", "t2", created=20)
        ]

    async def test_query_messages_by_role_and_content_type(self, store: ExtendedAgentStore) -> None:
        await store.save_messages("a1", sample.conversation(20, "a1"))
        await store.save_messages("a2", sample.conversation(10, "a2"))
        users = await store.query_messages(agent_id="a1", role="user")
        assert [m.position for m in users] == list(range(0, 20, 2))
        assert all(m.message.role.value == "user" and m.agent_id == "a1" for m in users)
        calls = await store.query_messages({"contentType": "tool_use"})
        assert [(m.agent_id, m.position) for m in calls] == [("a1", 9), ("a1", 19), ("a2", 9)]
        assert calls[0].message == sample.conversation(20, "a1")[9]

    async def test_message_time_filters_mean_first_stored(self, store: ExtendedAgentStore) -> None:
        first = sample.message("user", "first")
        await store.save_messages(AGENT, [first])
        await anyio.sleep(0.05)
        [stored] = await store.query_messages(agent_id=AGENT)
        await anyio.sleep(0.05)
        await store.save_messages(AGENT, [first, sample.message("assistant", "second")])
        later = await store.query_messages(agent_id=AGENT, created_after=_after(stored))
        assert [m.position for m in later] == [1]
        earlier = await store.query_messages(agent_id=AGENT, createdBefore=_after(stored))
        assert [m.position for m in earlier] == [0]

    async def test_query_tool_calls_by_name_state_error_and_approval(
        self, store: ExtendedAgentStore
    ) -> None:
        await _tool_calls(store)

        async def found(**filters: Any) -> list[tuple[str, str]]:
            return [(c.agent_id, c.record.id) for c in await store.query_tool_calls(**filters)]

        assert await found(tool_name="bash_run") == [("a1", "c1"), ("a1", "c3"), ("a2", "c1")]
        assert await found(toolName="bash_run", agentId="a1") == [("a1", "c1"), ("a1", "c3")]
        assert await found(isError=True) == [("a1", "c2"), ("a2", "c1")]
        assert await found(is_error=False) == [("a1", "c1"), ("a1", "c3")]
        assert await found(hasApproval=True) == [("a1", "c3")]
        assert await found(state="FAILED", sortOrder="desc") == [("a2", "c1"), ("a1", "c2")]
        assert await found(sortBy="name", sortOrder="desc", limit=1) == [("a1", "c2")]
        assert await found(created_after=sample.at(2), created_before=sample.at(4)) == [
            ("a1", "c2"),
            ("a1", "c3"),
        ]

    async def test_default_limit_is_100_and_offset_works_without_limit(
        self, store: ExtendedAgentStore
    ) -> None:
        await store.save_messages(AGENT, sample.conversation(130))
        assert len(await store.query_messages(agent_id=AGENT)) == 100
        assert [m.position for m in await store.query_messages(agent_id=AGENT, offset=120)] == list(
            range(120, 130)
        )
        tail = await store.query_messages(agent_id=AGENT, limit=5, offset=128)
        assert [m.position for m in tail] == [128, 129]
        assert await store.query_messages(agent_id=AGENT, limit=0) == []

    @pytest.mark.parametrize(
        ("filters", "named"),
        [
            ({"sortBy": "created_at; DROP TABLE agents"}, "sortBy"),
            ({"sort_by": "body"}, "sort_by"),
            ({"sortOrder": "sideways"}, "sortOrder"),
            ({"colour": "red"}, "colour"),
            ({"createdAfter": sample.at(1), "start_date": sample.at(2)}, "start_date"),
            ({"limit": -1}, "limit"),
            ({"offset": "10"}, "offset"),
            ({"role": "robot"}, "role"),
            ({"created_after": "yesterday"}, "created_after"),
            ({"limit": 10**30}, "limit"),
            ({"offset": 2**64}, "offset"),
            ("role=user", "filters"),
            (["role", "user"], "filters"),
        ],
    )
    async def test_bad_filters_are_refused_naming_the_filter(
        self, store: ExtendedAgentStore, filters: dict[str, Any], named: str
    ) -> None:
        await store.save_messages(AGENT, sample.conversation(3))
        with pytest.raises(InvalidRecordError) as raised:
            await store.query_messages(filters)
        assert named in str(raised.value)
        assert len(await store.query_messages(agent_id=AGENT)) == 3

    async def test_tool_call_filters_are_refused_on_sessions(
        self, store: ExtendedAgentStore
    ) -> None:
        with pytest.raises(InvalidRecordError, match="toolName"):
            await store.query_sessions(toolName="bash_run")
        with pytest.raises(InvalidRecordError, match="state"):
            await store.query_tool_calls(state="DONE")

    async def test_aggregate_stats_count_exactly(self, store: ExtendedAgentStore) -> None:
        await _tool_calls(store)
        await store.save_messages("a1", sample.conversation(7))
        await store.save_messages("a2", sample.conversation(3))
        for snapshot_id in ("s1", "s2"):
            await store.save_snapshot("a1", sample.snapshot(snapshot_id, 1))
        stats = await store.aggregate_stats("a1")
        assert (stats.total_messages, stats.total_tool_calls, stats.total_snapshots) == (7, 3, 2)
        assert dict(stats.tool_calls_by_name) == {"bash_run": 2, "read_file": 1}
        assert dict(stats.tool_calls_by_state) == {
            "COMPLETED": 1,
            "FAILED": 1,
            "APPROVAL_REQUIRED": 1,
        }
        empty = await store.aggregate_stats("nobody")
        assert (empty.total_messages, empty.total_tool_calls, empty.total_snapshots) == (0, 0, 0)


def _after(stored: StoredMessage) -> datetime:
    """A moment just after ``stored`` was first stored (1 ms later)."""
    return stored.created_at + timedelta(milliseconds=1)
