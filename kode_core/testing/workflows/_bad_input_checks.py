"""Bad input is refused before any write, naming the argument at fault."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from ..._errors import InvalidRecordError
from ...workflows import WorkflowStore
from ..sessions._suite import nested

RUN = "run-bad"
Call = Callable[[WorkflowStore], Awaitable[Any]]

#: A call with one bad argument -> the field the error must name.
BAD_CALLS: dict[str, tuple[Call, str]] = {
    "empty_workflow": (lambda s: s.create_run(""), "workflow"),
    "nul_run_id": (lambda s: s.create_run("wf", run_id="a\x00b"), "run_id"),
    "input_not_json": (lambda s: s.create_run("wf", {"x": {1, 2}}), "input"),
    "input_nan": (lambda s: s.create_run("wf", math.nan), "input"),
    "input_too_deep": (lambda s: s.create_run("wf", nested(400)), "input"),
    "input_oversized": (lambda s: s.create_run("wf", "x" * 70_000), "input"),
    "lone_surrogate": (lambda s: s.create_run("wf", "\ud800"), "input"),
    "wire_without_type": (lambda s: s.create_run("wf", wire={"id": "x"}), "wire.type"),
    "inline_not_bool": (lambda s: s.create_run("wf", inline=1), "inline"),  # type: ignore[arg-type]
    "unknown_status": (lambda s: s.update_run_status(RUN, "done"), "status"),
    "state_key_not_str": (lambda s: s.update_run_state(RUN, 3, 1), "name"),  # type: ignore[arg-type]
    "state_value_not_json": (lambda s: s.update_run_state(RUN, "k", object()), "value"),
    "step_name_empty": (lambda s: s.insert_step(RUN, ""), "step_name"),
    "retries_negative": (lambda s: s.insert_step(RUN, "s", retries=-1), "retries"),
    "retries_too_big": (lambda s: s.insert_step(RUN, "s", retries=2**63), "retries"),
    "retry_delay_inf": (lambda s: s.insert_step(RUN, "s", retry_delay=math.inf), "retry_delay"),
    "data_not_json": (lambda s: s.insert_step(RUN, "s", data=b"raw"), "data"),
    "result_not_json": (lambda s: s.set_step_result("sid", {1: "int key"}), "result"),
    "retry_status_done": (lambda s: s.create_retry_attempt("sid", "succeeded"), "status"),
    "claim_bad_run": (lambda s: s.claim_step(None, "s"), "run_id"),  # type: ignore[arg-type]
    "stalled_naive_time": (lambda s: s.find_stalled_runs(datetime(2020, 1, 1)), "before"),
    "stalled_limit_zero": (
        lambda s: s.find_stalled_runs(datetime.fromtimestamp(0).astimezone(), limit=0),
        "limit",
    ),
    "list_offset_negative": (lambda s: s.list_runs(offset=-1), "offset"),
    "version_status": (lambda s: s.upsert_version("wf", "h", {}, status="live"), "status"),
    "version_source": (lambda s: s.upsert_version("wf", "h", {}, source=5), "source"),  # type: ignore[arg-type]
}


@pytest.mark.anyio
class BadInputChecks:
    """Every argument is checked before any I/O."""

    @pytest.mark.parametrize("case", sorted(BAD_CALLS))
    async def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
        self, store: WorkflowStore, case: str
    ) -> None:
        call, field = BAD_CALLS[case]
        with pytest.raises(InvalidRecordError) as caught:
            await call(store)
        got = caught.value.field
        assert got == field or got.startswith((f"{field}.", f"{field}[")), got
        assert await store.list_runs() == []
        assert await store.list_steps(RUN) == []
        assert await store.get_run_state(RUN) == {}
        assert await store.get_version("wf", "h") is None

    async def test_bad_lock_arguments_are_refused(self, store: WorkflowStore) -> None:
        with pytest.raises(InvalidRecordError):
            store.run_lock("")
        for bad in (0, -1, math.nan, "5"):
            with pytest.raises(ValueError, match="timeout"):
                store.run_lock(RUN, timeout=bad)  # type: ignore[arg-type]
