"""Sample threads, messages and runs the thread and run kits write."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..._record_codec import UTC
from ...runs import Run

#: A fixed time, at the millisecond precision every engine keeps.
T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def at(ms: int) -> str:
    """``T0`` plus ``ms`` milliseconds, as ISO-8601."""
    return (T0 + timedelta(milliseconds=ms)).isoformat()


def message(id: str, role: str = "user", content: Any = "hello", ms: int = 0) -> dict[str, Any]:
    """A message with only the usual fields."""
    return {"id": id, "role": role, "content": content, "created_at": at(ms)}


#: A message with every field the spec names, every content part kind and unknown keys.
EVERY_FIELD_MESSAGE: dict[str, Any] = {
    "id": "m-every",
    "role": "assistant",
    "content": [
        {"type": "text", "text": "Here is the chart ✓"},
        {"type": "image", "url": "https://example.test/c.png", "mime_type": "image/png"},
        {"type": "file", "data": "aGVsbG8=", "mime_type": "text/plain", "filename": "a.txt"},
        {"type": "data", "data": {"rows": [1, 2.5, None, True]}},
        {"type": "generative-ui", "data": {"component": "Chart"}, "props": {"k": [1]}},
    ],
    "tool_calls": [{"id": "tc-1", "name": "search", "args": {"q": "kode", "n": 3}}],
    "tool_results": [
        {"id": "tc-0", "name": "fetch", "result": {"ok": False}, "error": "timed out"},
        {"id": "tc-00", "name": "fetch", "result": [1, 2]},
    ],
    "reasoning_content": "The user wants a chart.",
    "interrupted": True,
    "undelivered": False,
    "created_at": at(1),
    "provider_meta": {"x": 1},
}


def tool_approval(tool_call_id: str) -> dict[str, Any]:
    return {"type": "tool-call", "tool_call_id": tool_call_id, "tool_name": "rm", "args": {}}


#: One approval of each of the three kinds.
THREE_APPROVALS: list[dict[str, Any]] = [
    {"type": "tool-call", "tool_call_id": "ap-tool", "tool_name": "rm", "args": {"path": "/x"}},
    {
        "type": "agent-call",
        "tool_call_id": "ap-agent",
        "agent_name": "researcher",
        "agent_run_id": "sub-run-1",
        "display_tool_name": "ask_researcher",
        "display_args": {"question": "why?"},
    },
    {
        "type": "credential-request",
        "tool_call_id": "ap-cred",
        "tool_name": "gmail_send",
        "args": {"to": "a@b.c"},
        "credential_name": "gmail",
        "credential_type": "oauth2",
        "connect_url": "https://example.test/connect",
        "vendor_hint": "google",
    },
]


def run(
    run_id: str,
    thread_id: str,
    *,
    agent_name: str = "helper",
    resource_id: str = "user-1",
    status: str = "running",
    ms: int = 0,
    **more: Any,
) -> dict[str, Any]:
    """A run's JSON with its required fields and ``more``."""
    return {
        "run_id": run_id,
        "agent_name": agent_name,
        "thread_id": thread_id,
        "resource_id": resource_id,
        "status": status,
        "usage": {"input_tokens": 10, "output_tokens": 20, "model": "m-1"},
        "created_at": at(ms),
        "updated_at": at(ms),
        **more,
    }


def suspended_run(run_id: str, thread_id: str, approvals: list[dict[str, Any]]) -> Run:
    """A run suspended for ``approvals``."""
    data = run(
        run_id,
        thread_id,
        status="suspended",
        suspend_reason="approval",
        pending_approvals=approvals,
    )
    return Run.from_dict(data)
