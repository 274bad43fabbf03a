"""The scripted agent conversation of ``kode demo``: transcript entries as an agent writes them.

Shaped like Claude Code's transcripts (``uuid``/``parentUuid`` chain, ISO ``timestamp``,
``message`` with content blocks, ``tool_use``/``tool_result`` pairs, a subagent's
sidechain under ``subagents/agent-<id>``, a ``custom-title`` entry), so the Claude Agent
SDK's summary fold reads them as it reads real ones.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import attrs

MODEL = "claude-sonnet-4-5"
CWD = "/home/dev/calendar-app"
AGENT_ID = "a7f3c2e1"
SUBPATH = f"subagents/agent-{AGENT_ID}"
TITLE = "Fix leap-year date parsing"


@attrs.define
class Transcript:
    """Builds one transcript's entries, each chained to the previous one."""

    session_id: str
    sidechain: bool = False
    clock: datetime.datetime = attrs.field(
        factory=lambda: datetime.datetime.now(datetime.timezone.utc)
    )
    entries: list[dict[str, Any]] = attrs.Factory(list)
    _parent: str | None = None

    def _entry(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.clock += datetime.timedelta(seconds=3)
        entry: dict[str, Any] = {
            "type": kind,
            "uuid": str(uuid.uuid4()),
            "parentUuid": self._parent,
            "sessionId": self.session_id,
            "timestamp": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "cwd": CWD,
            "gitBranch": "main",
            "isSidechain": self.sidechain,
            **fields,
        }
        if self.sidechain:
            entry["agentId"] = AGENT_ID
        self._parent = entry["uuid"]
        self.entries.append(entry)
        return entry

    def user(self, text: str) -> None:
        self._entry("user", message={"role": "user", "content": text})

    def assistant(self, text: str, tool: tuple[str, str, dict[str, Any]] | None = None) -> None:
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if tool is not None:
            tool_id, name, arguments = tool
            content.append({"type": "tool_use", "id": tool_id, "name": name, "input": arguments})
        self._entry(
            "assistant",
            message={"role": "assistant", "model": MODEL, "content": content},
            requestId=f"req_{uuid.uuid4().hex[:12]}",
        )

    def tool_result(self, tool_id: str, output: str, *, is_error: bool = False) -> None:
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id, "content": output}
        if is_error:
            block["is_error"] = True
        self._entry("user", message={"role": "user", "content": [block]})

    def title(self, title: str) -> None:
        # Not part of the chain: Claude Code writes titles beside the conversation.
        self.entries.append(
            {"type": "custom-title", "customTitle": title, "sessionId": self.session_id}
        )


def first_part(session_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The first process's conversation: ``(main transcript, subagent transcript)``."""
    main = Transcript(session_id)
    main.user("The date parser test fails on leap years. Can you fix it?")
    main.assistant(
        "Let me run the failing test first.",
        ("toolu_01", "Bash", {"command": "pytest tests/test_dates.py -q"}),
    )
    main.tool_result(
        "toolu_01",
        "F.... 1 failed: test_parse_feb_29 - ValueError: day is out of range for month",
        is_error=True,
    )
    main.assistant(
        "The parser builds dates by hand. I'll have a subagent find every place that does.",
        (
            "toolu_02",
            "Task",
            {"description": "Find hand-built dates", "subagent_type": "Explore"},
        ),
    )
    sub = Transcript(session_id, sidechain=True, clock=main.clock)
    sub.user("Find every place in calendar/ that builds a date from day, month and year.")
    sub.assistant(
        "Searching the package.",
        ("toolu_s1", "Grep", {"pattern": r"date\(\s*year", "path": "calendar/"}),
    )
    sub.tool_result("toolu_s1", "calendar/dates.py:41\ncalendar/dates.py:88")
    sub.assistant("Two call sites: calendar/dates.py:41 and :88; both assume 28 days in Feb.")
    main.clock = sub.clock
    main.tool_result("toolu_02", "Two call sites: calendar/dates.py:41 and calendar/dates.py:88")
    main.assistant(
        "Both use a fixed month length. I'll use calendar.monthrange instead.",
        (
            "toolu_03",
            "Edit",
            {
                "file_path": "calendar/dates.py",
                "old_string": "DAYS_IN_MONTH[month]",
                "new_string": "calendar.monthrange(year, month)[1]",
            },
        ),
    )
    main.tool_result("toolu_03", "The file calendar/dates.py has been updated.")
    main.assistant("Fixed: February 29 parses in leap years and is refused in other years.")
    main.title(TITLE)
    return main.entries, sub.entries


def resumed_turn(session_id: str, last: dict[str, Any]) -> list[dict[str, Any]]:
    """The turn the second process appends after loading the conversation."""
    turn = Transcript(session_id)
    turn._parent = last.get("uuid") if isinstance(last.get("uuid"), str) else None
    turn.user("Thanks! Please add a regression test for February 29.")
    turn.assistant(
        "Adding a test for leap and common years, then running the suite.",
        ("toolu_04", "Bash", {"command": "pytest tests/test_dates.py -q"}),
    )
    turn.tool_result("toolu_04", "...... 6 passed in 0.04s")
    turn.assistant("Done: test_parse_feb_29 covers 2024-02-29 and refuses 2023-02-29.")
    return turn.entries


def demo_fold(prev: Any, key: Any, entries: Any) -> dict[str, Any]:
    """A small summary fold for the demo when the Claude Agent SDK is not installed.

    It keeps the SDK fold's field names for what the demo shows: ``custom_title``,
    ``first_prompt``, ``last_prompt`` and ``created_at`` (ISO text here).
    """
    data: dict[str, Any] = dict(prev["data"]) if prev else {}
    for entry in entries:
        if "created_at" not in data and isinstance(entry.get("timestamp"), str):
            data["created_at"] = entry["timestamp"]
        if isinstance(entry.get("customTitle"), str):
            data["custom_title"] = entry["customTitle"]
        message = entry.get("message")
        if entry.get("type") == "user" and isinstance(message, dict):
            content = message.get("content")
            if isinstance(content, str):
                data.setdefault("first_prompt", content)
                data["last_prompt"] = content
    session_id = prev["session_id"] if prev else key["session_id"]
    return {"session_id": session_id, "mtime": prev["mtime"] if prev else 0, "data": data}
