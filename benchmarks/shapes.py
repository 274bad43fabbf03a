"""kode against kode in another deployment shape: the part ``pg_pooler.py`` and
``redis_cluster.py`` share.

Both sides are kode's session store on servers of the run's own; the "kode" columns
are one shape (through a pooler, on a cluster), the "raw" columns the other (direct,
one server), and the ratio is what the shape costs. The workload is step 1 of
``session_store.py`` (concurrent appends).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Sequence
from types import ModuleType
from typing import Any

import attrs
from _harness import Sample
from session_store import AppendWorkload, KodeSubject, append_samples, warm_up_appends

import kode_core

ROUNDS = 2  # each side goes first once


@contextlib.asynccontextmanager
async def kode_at(
    kind: str, plugin: ModuleType, url: str, namespace: str, **defaults: Any
) -> AsyncIterator[KodeSubject]:
    """kode's ``kind`` session store at ``url`` in ``namespace``, built through the
    public API with ``plugin`` alone registered."""
    registry = kode_core.load_registry([plugin], autoload=False)
    options = {"url": url, **defaults}
    async with kode_core.session_stores({kind: options}, registry=registry) as stores:
        yield KodeSubject(stores.build({"kind": kind, "options": {"namespace": namespace}}))


async def compare(
    first: KodeSubject, second: KodeSubject, work: AppendWorkload
) -> tuple[Sample, Sample]:
    """Step 1 of the session workload on both subjects, ``ROUNDS`` times, each side going
    first in turn, on fresh sessions each round."""
    await warm_up_appends((first, second), work)
    runs: list[list[Sample]] = [[], []]
    for round_ in range(ROUNDS):
        names = [f"r{round_}-{name}" for name in work.concurrent_sessions()]
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        subjects = [(first, second)[side] for side in order]
        for side, sample in zip(order, await append_samples(subjects, work, names), strict=True):
            runs[side].append(sample)
    return Sample.combined(runs[0]), Sample.combined(runs[1])


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The workload's parameters, for the results file."""
    return attrs.asdict(AppendWorkload.of(args))


def own_argv(argv: Sequence[str], kind: str, results: str) -> list[str]:
    """``argv``, on ``kind`` alone and into the ``results`` file unless it says otherwise."""
    given = list(argv)
    for option, value in (("--kinds", kind), ("--json", results)):
        if not any(arg.startswith(option) for arg in given):
            given = [option, value, *given]
    return given
