"""The second process of ``kode demo``: it resumes the session and appends a turn.

``python -m kode_core._cli._demo_resume DESCRIPTOR PROJECT SESSION``
"""

from __future__ import annotations

import os
import sys

import anyio

from .._descriptor import parse_store
from . import _demo_script
from ._common import CliError, open_store
from ._demo import fold_overrides


async def resume(descriptor: str, project: str, session_id: str) -> None:
    """Load the session, append the next turn, say what it did."""
    config = parse_store(descriptor)
    key = {"project_key": project, "session_id": session_id}
    async with open_store(config, **fold_overrides()) as (_, store):
        loaded = await store.load(key)
        if not loaded:
            raise CliError(f"session {session_id!r} not found in {config.describe()}")
        chained = [entry for entry in loaded if "parentUuid" in entry]
        turn = _demo_script.resumed_turn(session_id, chained[-1])
        await store.append(key, turn)
        print(f"process pid {os.getpid()} loaded {len(loaded)} entries, appended {len(turn)}")
        print(f'the user asks: "{turn[0]["message"]["content"]}"')


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m kode_core._cli._demo_resume DESCRIPTOR PROJECT SESSION")
    descriptor, project, session_id = sys.argv[1:]
    anyio.run(resume, descriptor, project, session_id)
