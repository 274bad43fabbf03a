"""Every argument of every public agent-store method, given bad values, on every engine.

The table is made from the contract's signatures: each parameter of each public method
has a kind (an agent id, a count, a record...) and each kind its bad values (a lone
surrogate, an integer past 64 bits, the wrong container...). A method or parameter the
table does not know fails :meth:`ArgumentChecks.test_the_table_covers_every_argument`,
so a new one cannot go unchecked. Each bad call must raise a :class:`~kode_core.KodeError`
and leave the engine's raw contents (the backend's ``engine_dump``) exactly as they were.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from ..._errors import KodeError
from ...agents import ExtendedAgentStore
from ..sessions._suite import nested
from . import samples as sample
from .samples import AGENT, fill

#: ``store -> what its engine holds`` (rows, documents, keys...), compared by ``==``.
EngineDump = Callable[[ExtendedAgentStore], Awaitable[object]]

_TEXT = {
    "lone_surrogate": "a\ud800b",
    "not_a_string": 7,
    "bytes": b"agent",
    "with_nul": "a\x00b",
}
_ID = {**_TEXT, "empty": "", "longer_than_512": "x" * 513}
_SECONDS = {
    "a_string": "1",
    "nan": math.nan,
    "infinite": math.inf,
    "negative": -1.0,
    "past_any_clock": 1e300,
}
_COUNT = {"a_string": "1", "zero": 0, "negative": -1, "past_64_bits": 2**64, "a_float": 1.5}
_RECORD = {
    "a_string": "record",
    "a_list": [],
    "empty": {},
    "nested_1000_deep": {"x": nested(1000)},
    "lone_surrogate_key": {"a\ud800b": 1},
}
_RECORDS = {
    "a_string": "records",
    "a_mapping": {"a": 1},
    "an_int_item": [7],
    "a_string_item": ["record"],
}
_FILTERS = {
    "a_string": "role=user",
    "a_list": [("agent_id", AGENT)],
    "unknown_filter": {"no_such_filter": 1},
    "limit_past_64_bits": {"limit": 10**30},
    "offset_past_64_bits": {"offset": 10**30},
    "lone_surrogate": {"agent_id": "a\ud800b"},
}
_SINCE = {
    "a_string": "7",
    "negative": -1,
    "past_64_bits": 2**64,
    "bookmark_seq_a_string": {"seq": "a", "timestamp": 0},
    "a_list": [1],
}
_CHANNEL = {"unknown": "nope", "an_int": 3}

#: ``(method, parameter) -> (a good value, the bad values by case)``.
ARGUMENTS: dict[tuple[str, str], tuple[Any, Mapping[str, Any]]] = {
    **{
        (method, "agent_id"): (AGENT, _ID)
        for method in (
            "acquire_agent_lock",
            "aggregate_stats",
            "append_event",
            "check_consistency",
            "delete",
            "exists",
            "fork",
            "list_snapshots",
            "load_compression_records",
            "load_history_windows",
            "load_info",
            "load_media_cache",
            "load_messages",
            "load_recovered_files",
            "load_snapshot",
            "load_todos",
            "load_tool_call_records",
            "read_events",
            "save_compression_record",
            "save_history_window",
            "save_info",
            "save_media_cache",
            "save_messages",
            "save_recovered_file",
            "save_snapshot",
            "save_todos",
            "save_tool_call_records",
        )
    },
    ("acquire_agent_lock", "timeout"): (1.0, _SECONDS),
    ("acquire_agent_lock", "lease"): (5.0, _SECONDS),
    ("fork", "count"): (1, _COUNT),
    ("list", "prefix"): (None, _TEXT),
    ("list_agents", "prefix"): (None, _TEXT),
    ("load_snapshot", "snapshot_id"): ("s1", _ID),
    ("read_events", "since"): (None, _SINCE),
    ("read_events", "channel"): (None, _CHANNEL),
    ("read_events", "page_size"): (10, _COUNT),
    ("query_messages", "filters"): (None, _FILTERS),
    ("query_sessions", "filters"): (None, _FILTERS),
    ("query_tool_calls", "filters"): (None, _FILTERS),
    ("append_event", "timeline"): (sample.timeline(9), _RECORD),
    ("save_compression_record", "record"): (sample.compression_record("c9", 9), _RECORD),
    ("save_history_window", "window"): (sample.history_window("w9", 9), _RECORD),
    ("save_info", "info"): (sample.agent_info(AGENT), _RECORD),
    ("save_recovered_file", "file"): (sample.recovered_file("b.py", 9), _RECORD),
    ("save_snapshot", "snapshot"): (sample.snapshot("s9", 9), _RECORD),
    ("save_todos", "snapshot"): (sample.todos(2), _RECORD),
    ("save_media_cache", "records"): ([sample.media_record("m9")], _RECORDS),
    ("save_messages", "messages"): (sample.conversation(1, AGENT), _RECORDS),
    ("save_tool_call_records", "records"): ([sample.tool_call("c9")], _RECORDS),
}
#: Public methods that take no data argument (or only the store's own plumbing).
WITHOUT_DATA = {"aclose", "health_check", "metrics", "migrate", "own", "schema_version"}
#: Keyword catch-alls: ``query_*(**by_name)`` is the same filter mapping by name.
CATCH_ALLS = {"by_name"}


def _cases() -> Iterator[Any]:
    for (method, parameter), (_, bad) in ARGUMENTS.items():
        for case in bad:
            yield pytest.param(method, parameter, case, id=f"{method}-{parameter}-{case}")


def _public_parameters() -> set[tuple[str, str]]:
    found = set()
    for name, function in inspect.getmembers(ExtendedAgentStore, inspect.isfunction):
        if name.startswith("_") or name in WITHOUT_DATA:
            continue
        for parameter in list(inspect.signature(function).parameters)[1:]:
            if parameter not in CATCH_ALLS:
                found.add((name, parameter))
    return found


async def _call(store: ExtendedAgentStore, method: str, arguments: dict[str, Any]) -> None:
    """Call ``method`` as a user would: await it, iterate it or enter it."""
    result = getattr(store, method)(**arguments)
    if isinstance(result, AbstractAsyncContextManager):
        async with result:
            return
    if hasattr(result, "__aiter__"):
        async for _ in result:
            pass
        return
    await result


class ArgumentChecks:
    """Bad values for every argument of every method: a KodeError, the engine untouched."""

    def test_the_table_covers_every_argument(self) -> None:
        assert _public_parameters() == set(ARGUMENTS)

    @pytest.mark.parametrize(("method", "parameter", "case"), list(_cases()))
    async def test_a_bad_argument_is_a_kode_error_and_changes_nothing(
        self,
        store: ExtendedAgentStore,
        engine_dump: EngineDump,
        method: str,
        parameter: str,
        case: str,
    ) -> None:
        await fill(store, AGENT)
        arguments = {
            name: good
            for (owner, name), (good, _) in ARGUMENTS.items()
            if owner == method and name != parameter
        }
        arguments[parameter] = ARGUMENTS[method, parameter][1][case]
        before = await engine_dump(store)
        assert before, "engine_dump shows nothing of what fill() wrote"
        with pytest.raises(KodeError):
            await _call(store, method, arguments)
        assert await engine_dump(store) == before
