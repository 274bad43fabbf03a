"""The ``memory`` backend: every family's data in this process, the executable reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from .._backend import Backend
from .._options import BackendOptions
from .._version import __version__

_T = TypeVar("_T")


@attrs.frozen(kw_only=True)
class MemoryOptions(BackendOptions):
    """Options of the ``memory`` backend: only the common ones."""


class MemoryBackend(Backend):
    """Keeps every family's namespaces in dictionaries of this process.

    A family's memory store asks for its namespace's data with
    :meth:`namespace_data`; stores of one namespace built from one backend share it.
    """

    kind = "memory"

    def __init__(self, options: MemoryOptions) -> None:
        self._data: dict[tuple[str, str], Any] = {}

    def namespace_data(self, family: str, namespace: str, make: Callable[[], _T]) -> _T:
        """The data ``family`` keeps for ``namespace``, made by ``make()`` on first use."""
        key = (family, namespace)
        if key not in self._data:
            self._data[key] = make()
        data: _T = self._data[key]
        return data

    @property
    def driver_version(self) -> str:
        return f"none (in-process, kode-core {__version__})"

    async def aclose(self) -> None:
        self._data.clear()
