"""Run a README's examples as a user would: each Python block, in a new interpreter.

Every ```` ```python ```` block of a README is a whole program that runs as printed.
A block whose info string says ``python template`` is a shape to fill in (it names
the reader's own classes), checked for syntax only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ANY_BLOCK = re.compile(
    r"^(#{1,6} [^\n]*)$|^```python([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL
)


@attrs.frozen
class ReadmeBlock:
    """One ```` ```python ```` block of a README: where it is and what it says."""

    readme: Path
    heading: str  #: the nearest heading above it, e.g. ``"## Example"``
    index: int  #: its position among the blocks under that heading, from 0
    code: str
    template: bool  #: ```` ```python template ````: a shape to fill in, not a program

    @property
    def name(self) -> str:
        """``README.md ## Example [1]``: how a failure names the block."""
        return f"{self.readme.name} {self.heading} [{self.index}]"


def python_blocks(readme: Path) -> list[ReadmeBlock]:
    """Every ```` ```python ```` block of ``readme``, in order, with its heading."""
    heading, counts, blocks = "(top)", dict[str, int](), []
    for found in _ANY_BLOCK.finditer(readme.read_text(encoding="utf-8")):
        if found.group(1):
            heading = found.group(1)
            continue
        index = counts.get(heading, 0)
        counts[heading] = index + 1
        template = found.group(2).split() == ["template"]
        blocks.append(ReadmeBlock(readme, heading, index, found.group(3), template))
    return blocks


def readme_example(readme: Path, heading: str = "## Example") -> str:
    """The first ```` ```python ```` block after the line ``heading`` of ``readme``."""
    text = readme.read_text(encoding="utf-8")
    start = text.find(f"\n{heading}\n")
    if start < 0:
        raise LookupError(f"{readme}: no heading {heading!r}")
    found = _BLOCK.search(text, start)
    if found is None:
        raise LookupError(f"{readme}: no python block after {heading!r}")
    return found.group(1)


def user_environment(**extra: str) -> dict[str, str]:
    """This process's environment as a user's shell would have it, plus ``extra``.

    The test-only ``KODE_*`` settings (autoload off, narrowed plugins...) are dropped,
    so a child process discovers plugins through their entry points.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KODE_")}
    return {**clean, **extra}


def run_readme_example(
    readme: Path,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    heading: str = "## Example",
    timeout: float = 120,
) -> str:
    """Run the example of ``readme`` in ``cwd`` with ``env`` added; return what it printed.

    The interpreter is this one, with this environment minus the test-only
    ``KODE_*`` settings (so plugins are discovered through their entry points, as
    for a user). Raises :exc:`AssertionError` with the output if the example fails.
    """
    return run_python(readme_example(readme, heading), cwd=cwd, env=env, timeout=timeout)


def run_python(
    code: str, *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> str:
    """Run ``code`` (a README block) as :func:`run_readme_example` does; return its output."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=user_environment(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"example failed:\n{code}\n{done.stdout}{done.stderr}"
    return done.stdout
