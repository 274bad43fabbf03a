"""The progress bar of ``kode copy``, ``kode export`` and ``kode import``: on stderr, and
only on a terminal (a pipe, a file or CI gets nothing but the final summary)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ._common import console, is_terminal

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class ProgressBar:
    """``unit`` done out of ``total``, with a note; does nothing off a terminal."""

    def __init__(self, unit: str, total: int | None) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if not is_terminal():
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn(unit),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task(unit, total=total, note="")
        self._progress.start()

    @property
    def shown(self) -> bool:
        """Whether there is a bar (stderr is a terminal)."""
        return self._progress is not None

    def advance(self, count: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)

    def note(self, text: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, note=text)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def progress_bar(unit: str, total: int | None) -> Iterator[ProgressBar]:
    """A :class:`ProgressBar`, stopped (and erased) on exit."""
    bar = ProgressBar(unit, total)
    try:
        yield bar
    finally:
        bar.stop()
