"""Transactions PostgreSQL rolls back to keep others consistent, and their bounded retry."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import anyio

from kode_core import BackendError

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: Attempts of one operation, and the first back-off ceiling in seconds (doubling).
ATTEMPTS = 5
_FIRST_BACKOFF = 0.005


class TransactionConflictError(BackendError):
    """PostgreSQL rolled a transaction back to keep others consistent; nothing was applied.

    A serialization failure (SQLSTATE 40001) or a deadlock (40P01). kode's transactions
    run at READ COMMITTED, where row locks order writers and these are rare, and each
    operation retries them a few times: this error means they kept happening. Retrying
    the operation later is safe.
    """


def retry_conflicts(
    operation: Callable[_P, Coroutine[Any, Any, _T]],
) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """Run ``operation`` again, up to :data:`ATTEMPTS` times in all, while it raises
    :class:`TransactionConflictError`, sleeping a random, doubling back-off between tries.

    Only for operations whose every attempt is one transaction: a rolled-back attempt
    left nothing behind.
    """

    @functools.wraps(operation)
    async def retried(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        for attempt in range(ATTEMPTS - 1):
            try:
                return await operation(*args, **kwargs)
            except TransactionConflictError:
                await anyio.sleep(random.uniform(0, _FIRST_BACKOFF * 2**attempt))
        return await operation(*args, **kwargs)

    return retried
